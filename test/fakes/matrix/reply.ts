// What an endpoint gives back, and the HTTP plumbing shared by all of them. Errors follow the spec's standard
// error response (https://spec.matrix.org/v1.13/client-server-api/#standard-error-response): a JSON
// `{errcode, error}` body with a meaningful HTTP status.

import type { IncomingMessage, ServerResponse } from 'node:http';

export interface Reply {
  readonly status: number;
  /** A JSON object, except GET /rooms/{roomId}/state, which answers with an array. */
  readonly body: Record<string, unknown> | unknown[];
  readonly headers?: Readonly<Record<string, string>>;
}

/** Thrown by endpoints to answer with a Matrix error; caught by the router. */
export class MatrixError extends Error {
  readonly status: number;
  readonly errcode: string;
  readonly extra: Readonly<Record<string, unknown>>;

  constructor(status: number, errcode: string, error: string, extra: Record<string, unknown> = {}) {
    super(error);
    this.status = status;
    this.errcode = errcode;
    this.extra = extra;
  }

  toReply(): Reply {
    return errorReply(this.status, this.errcode, this.message, this.extra);
  }
}

export const ok = (body: Record<string, unknown> | unknown[] = {}): Reply => ({ status: 200, body });

export function errorReply(
  status: number,
  errcode: string,
  error: string,
  extra: Record<string, unknown> = {},
): Reply {
  return { status, body: { errcode, error, ...extra } };
}

/**
 * A 429 as Synapse sends it: retry_after_ms in the body (deprecated since v1.10, still read first by many
 * clients) and Retry-After in whole seconds, rounded up. matrix-js-sdk prefers the header when both are there.
 */
export function limitExceeded(retryAfterMs: number, error = 'Too Many Requests'): Reply {
  return {
    status: 429,
    headers: { 'retry-after': String(Math.max(1, Math.ceil(retryAfterMs / 1000))) },
    body: { errcode: 'M_LIMIT_EXCEEDED', error, retry_after_ms: retryAfterMs },
  };
}

const MAX_BODY_BYTES = 1024 * 1024;

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new MatrixError(413, 'M_TOO_LARGE', 'Request body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Parses a JSON object body; an empty body counts as `{}` (GET requests and the SDK's bodiless POSTs). */
export function parseJsonObject(text: string): Record<string, unknown> {
  if (text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new MatrixError(400, 'M_NOT_JSON', 'Content not JSON.');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new MatrixError(400, 'M_BAD_JSON', 'Content must be a JSON object.');
  return value as Record<string, unknown>;
}

/** Sends the answer unless the client has gone; says whether it was sent. */
export function send(res: ServerResponse, reply: Reply): boolean {
  if (res.destroyed || res.writableEnded || !res.socket || res.socket.destroyed) return false;
  // A client that goes in the middle of the write must not crash the fake.
  res.on('error', () => {});
  res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
  res.end(JSON.stringify(reply.body));
  return true;
}
