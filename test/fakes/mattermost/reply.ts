// What an endpoint gives back, and the HTTP plumbing shared by all of them. Errors are Mattermost's AppError
// JSON, `{id, message, detailed_error, request_id, status_code}`; the fake leaves detailed_error empty, as a
// server does for a caller who is not a system admin.

import type { IncomingMessage, ServerResponse } from 'node:http';

export interface Reply {
  readonly status: number;
  /** Sent as JSON with `Content-Type: application/json` (exactly: Client4 parses nothing else). */
  readonly json?: unknown;
  /** Sent as `text/plain; charset=utf-8` when there is no `json`. */
  readonly text?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** Thrown by endpoints to answer with an AppError; caught by the router. */
export class AppError extends Error {
  readonly status: number;
  readonly id: string;

  constructor(status: number, id: string, message: string) {
    super(message);
    this.status = status;
    this.id = id;
  }

  toReply(requestId: string): Reply {
    return appErrorReply(this.status, this.id, this.message, requestId);
  }
}

export function appErrorReply(status: number, id: string, message: string, requestId: string): Reply {
  return {
    status,
    json: { id, message, detailed_error: '', request_id: requestId, status_code: status },
  };
}

export const ok = (json: unknown, status = 200): Reply => ({ status, json });

/** `{status:"OK"}`, what Mattermost answers for deletes and other bodiless successes. */
export const statusOk = (): Reply => ({ status: 200, json: { status: 'OK' } });

export const plainText = (text: string, status = 200): Reply => ({ status, text });

// The errors several endpoints share, with the server's ids and English messages.
export const errors = {
  sessionExpired: () =>
    new AppError(
      401,
      'api.context.session_expired.app_error',
      'Invalid or expired session, please login again.',
    ),
  permissions: () =>
    new AppError(403, 'api.context.permissions.app_error', 'You do not have the appropriate permissions.'),
  invalidUrlParam: (name: string) =>
    new AppError(
      400,
      'api.context.invalid_url_param.app_error',
      `Invalid or missing ${name} parameter in request URL.`,
    ),
  invalidParam: (name: string) =>
    new AppError(
      400,
      'api.context.invalid_body_param.app_error',
      `Invalid or missing ${name} in request body.`,
    ),
  missingUser: () => new AppError(404, 'app.user.missing_account.const', 'Unable to find the user.'),
  missingChannel: () =>
    new AppError(404, 'app.channel.get.existing.app_error', 'Unable to find the existing channel.'),
  missingMember: () =>
    new AppError(
      404,
      'app.channel.get_member.missing.app_error',
      'No channel member found for that user ID and channel ID.',
    ),
};

const MAX_BODY_BYTES = 5 * 1024 * 1024;

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES)
      throw new AppError(413, 'api.context.request_body_too_large', 'Request too large.');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The body parsed as JSON, `undefined` when empty; a malformed body is a 400 naming `what`. */
export function parseJson(text: string, what: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw errors.invalidParam(what);
  }
}

/** Sends the answer unless the client has gone; says whether it was sent. */
export function send(res: ServerResponse, reply: Reply, extraHeaders: Record<string, string> = {}): boolean {
  if (res.destroyed || res.writableEnded || !res.socket || res.socket.destroyed) return false;
  // A client that goes in the middle of the write must not crash the fake.
  res.on('error', () => {});
  const isJson = reply.json !== undefined;
  res.writeHead(reply.status, {
    'content-type': isJson ? 'application/json' : 'text/plain; charset=utf-8',
    ...extraHeaders,
    ...reply.headers,
  });
  res.end(isJson ? JSON.stringify(reply.json) : (reply.text ?? ''));
  return true;
}
