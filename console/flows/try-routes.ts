import { DRY_RUN_EVENT_ID, dryRunFlows, readDryRunEvent } from '../../engine/dry-run.ts';
import { instanceIdFor } from '../../engine/flow-index.ts';
import { EVENTS_EXCHANGE, routingKey } from '../../shared/bus/topology.ts';
import { newMessageId } from '../../shared/envelope.ts';
import { type Refusal, sendJson } from '../http-guard.ts';
import type { ConsoleRoute, ConsoleSources } from '../routes.ts';
import { requireEngine } from './require-engine.ts';
import { TRY_SAMPLES } from './try-samples.ts';

/** The Try page's API: the shipped sample events, and dry-running (or publishing) an event. */
export function tryRoutes(sources: ConsoleSources): ConsoleRoute[] {
  return [
    {
      method: 'GET',
      path: '/api/flows/samples',
      handle: ({ response }) => sendJson(response, 200, { samples: TRY_SAMPLES }),
    },
    {
      method: 'POST',
      path: '/api/flows/test',
      async handle({ json, response }) {
        const engine = requireEngine(sources.engine);
        const { event: given, publish } = readTryBody(await json());
        // A published event needs an id of its own: the engine takes an id it has seen for a redelivery.
        const read = readDryRunEvent(given, { id: publish ? newMessageId() : DRY_RUN_EVENT_ID });
        if (!read.ok) throw refusal(422, 'invalid_event', read.reason);
        const { event } = read;
        const flows = await dryRunFlows(engine.flows.flows(), event, engine.templates);
        let published = null;
        if (publish) {
          try {
            // Resolves once the broker confirmed it: the answer never claims what is not on the bus.
            await sources.bus.publish(
              { exchange: EVENTS_EXCHANGE, routingKey: routingKey(event.pack, event.name) },
              event,
            );
          } catch (error) {
            throw refusal(503, 'publish_failed', `the event was not published: ${(error as Error).message}`);
          }
          sources.logger.info(
            { eventId: event.id, event: `${event.pack}.${event.name}` },
            'Try published an event',
          );
          const instances = flows.flatMap((flow) =>
            flow.steps
              .filter((step) => step.fired && step.dependsOn.length === 0)
              .map((step) => ({
                flow: flow.flow,
                stepId: step.stepId,
                correlationId: instanceIdFor(event.id, flow.flow, step.stepId),
              })),
          );
          published = { id: event.id, instances };
        }
        const fired = flows.reduce((sum, flow) => sum + flow.fired, 0);
        sendJson(response, 200, { event, fired, flows, published });
      },
    },
  ];
}

function readTryBody(body: unknown): { event: unknown; publish: boolean } {
  if (typeof body !== 'object' || body === null || Array.isArray(body) || !('event' in body)) {
    throw refusal(
      400,
      'invalid_request',
      'send {"event": {"pack", "name", "payload"}}, and "publish": true to publish it',
    );
  }
  const { event, publish } = body as { event: unknown; publish?: unknown };
  if (publish !== undefined && typeof publish !== 'boolean') {
    throw refusal(400, 'invalid_request', '"publish" is true or false');
  }
  return { event, publish: publish === true };
}

function refusal(status: number, code: string, message: string): Refusal {
  return { status, code, message };
}
