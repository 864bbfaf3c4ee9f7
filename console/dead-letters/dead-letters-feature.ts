import { DeadLetterError, type DeadLetterErrorCode, type DeadLetterQueue } from '../../shared/bus/bus.ts';
import { MAX_LISTED_DEAD_LETTERS } from '../../shared/bus/dead-letters.ts';
import type { Logger } from '../../shared/observability/logger.ts';
import { type Refusal, sendJson } from '../http-guard.ts';
import type { ConsoleFeature, ConsoleRoute, ConsoleSources } from '../routes.ts';
import { LIST_BODY_BYTES, letterJson } from './letter-json.ts';

/** The answer each failure gets (docs/console.md, Dead letters). */
const STATUS_OF: Readonly<Record<DeadLetterErrorCode, number>> = {
  unknown_letter: 404,
  no_original_destination: 409,
  unroutable: 409,
  requeue_failed: 502,
  broker_unreachable: 503,
};

/**
 * The Dead letters page's API: what is in switchboard.dead, and requeueing or discarding one letter or
 * several. The bus does the work and keeps the promise that nothing is lost (Bus.deadLetters()).
 */
export function deadLettersFeature({ bus, logger }: ConsoleSources): ConsoleFeature {
  const deadLetters = bus.deadLetters();
  return {
    routes: deadLetterRoutes(deadLetters, logger),
    // The letters the console held go back to the queue, for whoever looks next.
    stop: () => deadLetters.release(),
  };
}

function deadLetterRoutes(deadLetters: DeadLetterQueue, logger: Logger): ConsoleRoute[] {
  const requeue = async (id: string) => {
    const destination = await deadLetters.requeue(id);
    logger.info({ letter: id, ...destination }, 'requeued a dead letter');
    return { id, ...destination };
  };
  const discard = async (id: string) => {
    await deadLetters.discard(id);
    logger.info({ letter: id }, 'discarded a dead letter');
    return { id };
  };
  return [
    {
      method: 'GET',
      path: '/api/dead-letters',
      handle: async ({ response }) => {
        const { letters, total } = await answering(deadLetters.list());
        sendJson(response, 200, {
          letters: letters.map((letter) => letterJson(letter, { bodyBytes: LIST_BODY_BYTES })),
          total,
          shown: letters.length,
        });
      },
    },
    {
      method: 'GET',
      path: '/api/dead-letters/:id',
      handle: async ({ response, params }) => {
        const id = params.id as string;
        const { letters } = await answering(deadLetters.list());
        const letter = letters.find((candidate) => candidate.id === id);
        if (!letter)
          throw refusalOf(new DeadLetterError('unknown_letter', `no dead letter "${id}" is listed`));
        sendJson(response, 200, { letter: letterJson(letter) });
      },
    },
    {
      method: 'POST',
      path: '/api/dead-letters/:id/requeue',
      handle: async ({ response, params }) => {
        sendJson(response, 200, { requeued: await answering(requeue(params.id as string)) });
      },
    },
    {
      method: 'DELETE',
      path: '/api/dead-letters/:id',
      handle: async ({ response, params }) => {
        sendJson(response, 200, { discarded: await answering(discard(params.id as string)) });
      },
    },
    {
      method: 'POST',
      path: '/api/dead-letters/requeue-all',
      handle: async ({ response, json }) => {
        const { done, failed } = await eachOf(idsOf(await json(), 'requeue'), requeue);
        sendJson(response, 200, { requeued: done, failed });
      },
    },
    {
      method: 'POST',
      path: '/api/dead-letters/discard-all',
      handle: async ({ response, json }) => {
        const { done, failed } = await eachOf(idsOf(await json(), 'discard'), discard);
        sendJson(response, 200, { discarded: done, failed });
      },
    },
  ];
}

/**
 * Runs `operation` on each id in turn. Once the broker is out of reach the rest are not tried (each would
 * wait out the same timeout) and fail with the same reason.
 */
async function eachOf<T>(
  ids: string[],
  operation: (id: string) => Promise<T>,
): Promise<{ done: T[]; failed: Array<{ id: string; error: { code: string; message: string } }> }> {
  const done: T[] = [];
  const failed: Array<{ id: string; error: { code: string; message: string } }> = [];
  let unreachable: DeadLetterError | undefined;
  for (const id of ids) {
    if (unreachable) {
      failed.push({ id, error: { code: unreachable.code, message: `not tried: ${unreachable.message}` } });
      continue;
    }
    try {
      done.push(await operation(id));
    } catch (error) {
      if (!(error instanceof DeadLetterError)) throw error;
      failed.push({ id, error: { code: error.code, message: error.message } });
      if (error.code === 'broker_unreachable') unreachable = error;
    }
  }
  return { done, failed };
}

/**
 * The ids a bulk request names. They are required: "all" means the letters the operator saw and
 * confirmed, never those that arrived meanwhile.
 */
function idsOf(body: unknown, verb: string): string[] {
  const ids = (body as { ids?: unknown } | null)?.ids;
  if (
    !Array.isArray(ids) ||
    ids.length === 0 ||
    ids.length > MAX_LISTED_DEAD_LETTERS ||
    !ids.every((id) => typeof id === 'string' && id !== '')
  ) {
    throw {
      status: 400,
      code: 'invalid_body',
      message: `send {"ids": [...]}: the ids of the letters to ${verb}, 1 to ${MAX_LISTED_DEAD_LETTERS} of them`,
    } satisfies Refusal;
  }
  return [...new Set(ids as string[])];
}

/** A DeadLetterError becomes the refusal the router answers with; anything else stays a 500. */
async function answering<T>(operation: Promise<T>): Promise<T> {
  try {
    return await operation;
  } catch (error) {
    if (error instanceof DeadLetterError) throw refusalOf(error);
    throw error;
  }
}

function refusalOf(error: DeadLetterError): Refusal {
  return { status: STATUS_OF[error.code], code: error.code, message: error.message };
}
