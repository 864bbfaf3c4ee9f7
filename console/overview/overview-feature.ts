import { DEAD_LETTER_QUEUE, packQueueName } from '../../shared/bus/topology.ts';
import { sendJson } from '../http-guard.ts';
import type { ConsoleFeature, ConsoleSources } from '../routes.ts';
import { ActivityCounts } from './activity-counts.ts';
import { LatestFailures } from './latest-failures.ts';
import { reportQueue, waitingCommandsOf } from './queue-report.ts';

/**
 * The Overview page's API: the pack instances seen (GET /api/packs), and with them the pack queues, the
 * dead letters, the commands waiting for a pack, the traffic of the last hour and the latest failures
 * (GET /api/overview). The counts start when the console starts: it keeps no history of its own.
 */
export function overviewFeature({ bus, packs, tap }: ConsoleSources): ConsoleFeature {
  const activity = new ActivityCounts();
  const failures = new LatestFailures();
  const unsubscribe = tap.subscribe((message) => {
    activity.record(message);
    failures.record(message);
  });

  return {
    routes: [
      {
        method: 'GET',
        path: '/api/packs',
        handle: ({ response }) => sendJson(response, 200, { packs: packs.list() }),
      },
      {
        method: 'GET',
        path: '/api/overview',
        handle: async ({ response }) => {
          const now = new Date();
          const instances = packs.list(now);
          const packNames = [...new Set(instances.map((instance) => instance.name))];
          const [queues, deadLetters] = await Promise.all([
            Promise.all(
              packNames.map(async (pack) => ({
                pack,
                ...(await reportQueue(
                  bus,
                  packQueueName(pack),
                  'no queue: no instance of this pack has declared it on this bus',
                )),
              })),
            ),
            reportQueue(bus, DEAD_LETTER_QUEUE, 'no dead-letter queue yet: nothing has been dead-lettered'),
          ]);
          const minutes = activity.lastHour(now);
          sendJson(response, 200, {
            generatedAt: now.toISOString(),
            packs: instances,
            queues,
            deadLetters,
            waitingCommands: waitingCommandsOf(bus),
            activity: {
              minutes,
              totals: minutes.reduce(
                (totals, minute) => ({
                  events: totals.events + minute.events,
                  commands: totals.commands + minute.commands,
                  failures: totals.failures + minute.failures,
                }),
                { events: 0, commands: 0, failures: 0 },
              ),
            },
            failures: failures.list(),
          });
        },
      },
    ],
    async stop() {
      unsubscribe();
    },
  };
}
