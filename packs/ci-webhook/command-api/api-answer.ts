import type { ServerResponse } from 'node:http';
import type { CommandAnswer } from '../../../shared/commands/command-answers.ts';
import type { CommandRefusal } from '../../../shared/commands/command-lookup.ts';

/**
 * How a request ended: the `outcome` label of switchboard_ci_webhook_requests_total{source="command-api"}
 * and the log's `outcome`. A refusal's body carries the same word as its error code.
 */
export type ApiOutcome =
  | 'accepted'
  | 'duplicate'
  | 'succeeded'
  | 'failed'
  | 'no_result'
  | 'not_found'
  | 'method_not_allowed'
  | 'not_configured'
  | 'unauthorized'
  | 'forbidden'
  | 'rate_limited'
  | 'unknown_pack'
  | 'unknown_command'
  | 'invalid_wait'
  | 'invalid_idempotency_key'
  | 'unsupported_media_type'
  | 'too_large'
  | 'invalid_json'
  | 'invalid_input'
  | 'idempotency_key_reused'
  | 'unavailable'
  | 'stopping';

/** Every status the command API answers with (docs/api.openapi.yaml documents each; a test checks). */
export const API_STATUSES = [200, 202, 400, 401, 403, 404, 405, 413, 415, 422, 429, 503, 504] as const;
export type ApiStatus = (typeof API_STATUSES)[number];

/** What the API answers, and what is logged of it (never the payload, never the token). */
export interface ApiAnswer {
  status: ApiStatus;
  outcome: ApiOutcome;
  body: Record<string, unknown>;
  headers?: Record<string, string>;
  /** Logged beside the outcome (the sender's name, the command, its id). */
  fields?: Record<string, unknown>;
  /** Logged instead of the body's message when the client should not see it (our infrastructure's errors). */
  reason?: string;
}

/** A refusal: `{error: {code, message}}`, the code being the outcome, as the console answers. */
export function refused(
  status: ApiStatus,
  outcome: ApiOutcome,
  message: string,
  extra: Pick<ApiAnswer, 'headers' | 'reason'> = {},
): ApiAnswer {
  return { status, outcome, body: { error: { code: outcome, message } }, ...extra };
}

/** A refusal from the checks shared with the console (404 lookup, 400 wait, 422 input). */
export function fromRefusal(refusal: CommandRefusal): ApiAnswer {
  return refused(refusal.status as ApiStatus, refusal.code as ApiOutcome, refusal.message);
}

/** A command's result or its absence, from the answers shared with the console. */
export function fromCommandAnswer(answer: CommandAnswer): ApiAnswer {
  const outcome = answer.status === 200 ? 'succeeded' : answer.status === 422 ? 'failed' : 'no_result';
  return { status: answer.status as ApiStatus, outcome, body: answer.body };
}

export function writeAnswer(response: ServerResponse, answer: ApiAnswer): void {
  const text = `${JSON.stringify(answer.body)}\n`;
  response.writeHead(answer.status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
    'cache-control': 'no-store',
    ...answer.headers,
  });
  response.end(text);
}
