import { COMMANDS_EXCHANGE, packQueueName, routingKey } from '../../shared/bus/topology.ts';
import {
  noResultAnswer,
  parseWait,
  resultAnswer,
  SENT_BY_HEADER,
} from '../../shared/commands/command-answers.ts';
import { CommandChecks } from '../../shared/commands/command-checks.ts';
import { findCommand } from '../../shared/commands/command-lookup.ts';
import { createEnvelope } from '../../shared/envelope.ts';
import { type Refusal, sendJson } from '../http-guard.ts';
import type { ApiRequest, ConsoleFeature, ConsoleSources } from '../routes.ts';
import { waitForResult } from './result-waiter.ts';

// What a command is, how it is checked and how its result is answered are shared with the HTTP command
// API (shared/commands/), so that the two cannot drift; the console waits through its tap.
export { MAX_WAIT_SECONDS, SENT_BY_HEADER } from '../../shared/commands/command-answers.ts';

/**
 * The Send page's API: the commands each pack announced (GET /api/commands), and sending one
 * (POST /api/commands/<pack>/<Command>), checked against its announced schema and, with `?wait=<s>`,
 * answered with its result event.
 */
export function sendFeature({ bus, logger, packs, tap }: ConsoleSources): ConsoleFeature {
  const checks = new CommandChecks(logger);
  // Ends the waits still open when the console closes, instead of holding it up to a minute.
  const stopping = new AbortController();

  async function send({ params, url, response, json }: ApiRequest): Promise<void> {
    const found = findCommand(packs, params.pack ?? '', params.command ?? '', { asker: 'the console' });
    if (!found.ok) throw found.refusal;
    const { announcement, command } = found;
    const wait = parseWait(url.searchParams.get('wait'));
    if (!wait.ok) throw wait.refusal;
    const { waitMs } = wait;
    const payload = await json();
    const checked = checks.check(announcement, command, payload);
    if (!checked.ok) {
      throw refusal(422, 'invalid_input', `${announcement.pack}.${command.name}: ${checked.reason}`);
    }
    // On RabbitMQ a command no queue is bound for is dropped; the in-memory bus keeps it for the pack.
    if (!('waitingCommands' in bus) && !(await bus.inspectQueue(packQueueName(announcement.pack)))) {
      throw refusal(
        503,
        'pack_queue_missing',
        `the queue ${packQueueName(announcement.pack)} does not exist on the broker, so nothing would receive the command`,
      );
    }
    const envelope = createEnvelope({
      kind: 'command',
      pack: announcement.pack,
      name: command.name,
      payload,
    });
    // What the result will carry (docs/protocol.md: the command's id when it has no correlationId).
    const answer = { id: envelope.id, correlationId: envelope.id };
    const waiting =
      waitMs === undefined
        ? undefined
        : { ms: waitMs, ...waitForResult(tap, envelope.id, waitMs, stopping.signal) };
    try {
      await bus.publish(
        { exchange: COMMANDS_EXCHANGE, routingKey: routingKey(envelope.pack, envelope.name) },
        envelope,
        { headers: { [SENT_BY_HEADER]: 'console' } },
      );
    } catch (error) {
      waiting?.cancel();
      throw refusal(503, 'publish_failed', `the bus did not take the command: ${(error as Error).message}`);
    }
    // The payload is not logged: it may carry anything the operator typed.
    logger.info(
      { pack: envelope.pack, command: envelope.name, commandId: envelope.id },
      'command sent from the console',
    );
    if (!waiting) {
      sendJson(response, 202, answer);
      return;
    }
    const result = await waiting.result;
    const { status, body } = result
      ? resultAnswer(result, command, answer)
      : noResultAnswer(answer, envelope.pack, waiting.ms);
    sendJson(response, status, body);
  }

  return {
    routes: [
      {
        method: 'GET',
        path: '/api/commands',
        handle: ({ response }) => {
          const running = new Map<string, number>();
          for (const instance of packs.list()) {
            if (instance.state === 'running')
              running.set(instance.name, (running.get(instance.name) ?? 0) + 1);
          }
          sendJson(response, 200, {
            packs: packs.announcements().map((announcement) => ({
              ...announcement,
              runningInstances: running.get(announcement.pack) ?? 0,
            })),
          });
        },
      },
      { method: 'POST', path: '/api/commands/:pack/:command', handle: send },
    ],
    async stop() {
      stopping.abort();
    },
  };
}

function refusal(status: number, code: string, message: string): Refusal {
  return { status, code, message };
}
