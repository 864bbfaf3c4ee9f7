import type { Envelope } from '../envelope.ts';
import type { Refused } from './command-lookup.ts';
import type { AnnouncedCommand } from './pack-directory.ts';

export { SENT_BY_HEADER } from '../bus/topology.ts';

/** The longest `?wait=` in seconds: a request held open longer would outlive most proxies' timeouts. */
export const MAX_WAIT_SECONDS = 60;

/** What a sent command is known by: its id, and the correlationId its result will carry. */
export interface SentIds {
  id: string;
  correlationId: string;
}

/** An HTTP answer: a status and a JSON body. */
export interface CommandAnswer {
  status: number;
  body: Record<string, unknown>;
}

/** `?wait=<seconds>` in milliseconds, undefined without it, or a 400 for anything but (0, 60] seconds. */
export function parseWait(value: string | null): { ok: true; waitMs: number | undefined } | Refused {
  if (value === null) return { ok: true, waitMs: undefined };
  const seconds = Number(value);
  if (value.trim() === '' || !Number.isFinite(seconds) || seconds <= 0 || seconds > MAX_WAIT_SECONDS) {
    return {
      ok: false,
      refusal: {
        status: 400,
        code: 'invalid_wait',
        message: `wait takes a number of seconds above 0 and at most ${MAX_WAIT_SECONDS}, got "${value}"`,
      },
    };
  }
  return { ok: true, waitMs: Math.round(seconds * 1000) };
}

/**
 * The answer to a command whose result came: 200 with a success event; 422 with a failure event, its
 * errorCode and reason (payload.error) on their own and in the error's message.
 */
export function resultAnswer(result: Envelope, command: AnnouncedCommand, sent: SentIds): CommandAnswer {
  if (!isFailure(result, command)) return { status: 200, body: { ...sent, result } };
  const payload = payloadOf(result);
  const errorCode = typeof payload.errorCode === 'string' ? payload.errorCode : undefined;
  const reason = typeof payload.error === 'string' ? payload.error : undefined;
  return {
    status: 422,
    body: {
      error: {
        code: 'command_failed',
        message: `${result.pack}.${result.name}: ${errorCode ?? 'no error code'}: ${reason ?? 'no reason given'}`,
      },
      errorCode,
      reason,
      ...sent,
      result,
    },
  };
}

/** The answer when no result came within the wait: 504; the command was published and may still run. */
export function noResultAnswer(sent: SentIds, pack: string, waitMs: number): CommandAnswer {
  return {
    status: 504,
    body: {
      error: {
        code: 'no_result',
        message: `no result for command ${sent.id} within ${waitMs / 1000} s; it was published and may still run: is a "${pack}" pack running?`,
      },
      ...sent,
    },
  };
}

/** A failure carries errorCode (success events never do), or is the failure event the command announced. */
function isFailure(result: Envelope, command: AnnouncedCommand): boolean {
  return typeof payloadOf(result).errorCode === 'string' || result.name === command.events[1];
}

function payloadOf(result: Envelope): Record<string, unknown> {
  const payload = result.payload;
  return typeof payload === 'object' && payload !== null && !Array.isArray(payload)
    ? (payload as Record<string, unknown>)
    : {};
}
