import { runExecutionAgain } from '../../engine/engine.ts';
import type { RetryRefusal } from '../../engine/state/engine-store.ts';
import type { EngineView } from '../engine-view.ts';
import { type Refusal, sendJson } from '../http-guard.ts';
import type { ConsoleFeature, ConsoleSources } from '../routes.ts';
import { summaryOf, timelineOf } from './execution-views.ts';
import { parseListQuery } from './list-query.ts';

/**
 * The Executions page's API (docs/console.md, Executions): the executions the engine recorded, page by
 * page; one flow instance as a timeline; and Run again for a failed execution. All three need the
 * engine of this process, whose store they read.
 */
export function executionsFeature({ bus, logger, engine }: ConsoleSources): ConsoleFeature {
  return {
    routes: [
      {
        method: 'GET',
        path: '/api/executions',
        handle: ({ response, url }) => {
          const { store } = running(engine);
          const filter = parseListQuery(url.searchParams);
          const page = store.listExecutionsPage(filter);
          const body: { executions: unknown[]; nextCursor?: string } = {
            executions: page.executions.map(summaryOf),
          };
          if (page.nextCursor !== undefined) body.nextCursor = page.nextCursor;
          sendJson(response, 200, body);
        },
      },
      {
        method: 'GET',
        path: '/api/executions/:correlationId',
        handle: ({ response, params }) => {
          const { store } = running(engine);
          const correlationId = params.correlationId as string;
          const instance = store.getInstance(correlationId);
          const executions = store.executionsOf(correlationId);
          if (!instance && executions.length === 0) {
            throw {
              status: 404,
              code: 'instance_not_found',
              message: `no flow instance with correlation id ${correlationId}: none ran here, or retention removed it`,
            } satisfies Refusal;
          }
          sendJson(response, 200, timelineOf(instance, executions));
        },
      },
      {
        method: 'POST',
        path: '/api/executions/:id/retry',
        handle: async ({ response, params }) => {
          const { store } = running(engine);
          const id = params.id as string;
          let outcome: Awaited<ReturnType<typeof runExecutionAgain>>;
          try {
            outcome = await runExecutionAgain({ store, bus, logger }, id);
          } catch (error) {
            logger.warn({ executionId: id, reason: (error as Error).message }, 'run again failed');
            throw {
              status: 503,
              code: 'publish_failed',
              message: `execution ${id} was not run again: ${(error as Error).message}`,
            } satisfies Refusal;
          }
          if ('refused' in outcome) {
            throw refusalOf(outcome.refused, id, outcome.execution?.status, outcome.execution?.retriedBy);
          }
          sendJson(response, 201, { execution: summaryOf(outcome.retry) });
        },
      },
    ],
  };
}

/** The engine of this process, or a 503 that says there is none. */
function running(engine: EngineView | undefined): EngineView {
  if (engine) return engine;
  throw {
    status: 503,
    code: 'engine_not_running',
    message:
      'no flow engine runs in this process, so there are no executions to show: the console shows them when it runs with the engine (switchboard all, or switchboard engine with SWITCHBOARD_CONSOLE_PORT set)',
  } satisfies Refusal;
}

function refusalOf(
  refused: RetryRefusal,
  id: string,
  status: string | undefined,
  retriedBy: string | undefined,
): Refusal {
  switch (refused) {
    case 'unknown':
      return {
        status: 404,
        code: 'execution_not_found',
        message: `no execution with id ${id}: none ran here, or retention removed it`,
      };
    case 'not_failed':
      return {
        status: 409,
        code: 'not_failed',
        message: `execution ${id} is ${status}: only a failed or timed-out execution can be run again`,
      };
    case 'retried_already':
      return {
        status: 409,
        code: 'retried_already',
        message: `execution ${id} was run again already, as ${retriedBy}: run that one again if it fails too`,
      };
    case 'never_sent':
      return {
        status: 409,
        code: 'never_sent',
        message: `execution ${id} never sent its command (its step failed to render): fix the flow, and the next event that fires the step runs it`,
      };
  }
}
