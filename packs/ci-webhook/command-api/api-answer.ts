import type { ServerResponse } from 'node:http';
import type { CommandAnswer } from '../../../shared/commands/command-answers.ts';
import type { CommandRefusal } from '../../../shared/commands/command-lookup.ts';

/**
 * The `error.code` of every answer that is not a success, each with its status (docs/api.md lists them;
 * a test checks that docs/api.openapi.yaml names each).
 */
export const API_ERROR_CODES = {
  not_found: 404,
  method_not_allowed: 405,
  not_configured: 403,
  unauthorized: 401,
  rate_limited: 429,
  forbidden: 403,
  unknown_pack: 404,
  unknown_command: 404,
  invalid_wait: 400,
  invalid_idempotency_key: 400,
  unsupported_media_type: 415,
  too_large: 413,
  invalid_json: 400,
  invalid_input: 422,
  idempotency_key_reused: 422,
  command_failed: 422,
  no_result: 504,
  unavailable: 503,
  stopping: 503,
} as const;

/**
 * How a request ended: the `outcome` label of switchboard_ci_webhook_requests_total{source="command-api"}
 * and the log's `outcome`. `accepted` (202), `duplicate` (202, a repeat of a confirmed Idempotency-Key,
 * not published again), `succeeded` (200), or the error code.
 */
export type ApiOutcome = 'accepted' | 'duplicate' | 'succeeded' | keyof typeof API_ERROR_CODES;

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
  const outcome =
    answer.status === 200 ? 'succeeded' : answer.status === 422 ? 'command_failed' : 'no_result';
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
