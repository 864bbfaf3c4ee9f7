// HTTP side of the Web API: `POST /api/<method>` with a form-encoded body (what @slack/web-api sends,
// `blocks`/`attachments` as JSON strings) or a JSON body, token in `Authorization: Bearer` or, for form
// bodies only, a `token` field. Slack answers errors with HTTP 200 `{ok:false, error}`; only rate
// limits (429) and outages (5xx) use other statuses.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { type DelaySpec, Latency } from './latency.ts';
import { type Args, METHODS, type MethodContext, type Reply, type TokenKind } from './methods.ts';

export interface FailureSpec {
  /** HTTP status to answer with. Default: 429 when `retryAfter` is set, otherwise 200 (`{ok:false, error}`). */
  readonly status?: 429 | 500 | 502 | 503 | 504;
  /** Error code in the body. Default "ratelimited" for 429, "internal_error" for 5xx, "fatal_error" otherwise. */
  readonly error?: string;
  /** Seconds for the Retry-After header; implies status 429 when no status is given. Default 1 on a 429. */
  readonly retryAfter?: number;
  /** How many consecutive calls fail. Default 1. */
  readonly times?: number;
}

export interface RecordedRequest {
  /** Web API method, e.g. "chat.postMessage". */
  readonly method: string;
  /** Arguments as the fake understood them: JSON strings parsed, "true"/"false" as booleans. */
  readonly args: Args;
  /** The request body exactly as sent. */
  readonly body: string;
  readonly contentType: string;
  readonly token: string | undefined;
  /** What the fake answered. */
  status: number;
  response: Record<string, unknown>;
  /** False when the client had gone before the answer could be sent (say, during an injected delay). */
  delivered: boolean;
}

export interface WebApiOptions {
  readonly tokens: Readonly<Record<TokenKind, string>>;
  readonly context: Omit<MethodContext, 'args'>;
}

// Arguments the SDK flattens to JSON strings (WebClient.serializeBody) and Slack decodes again.
const JSON_ARGS = new Set(['blocks', 'attachments', 'metadata']);
// Form values are strings; these arguments are booleans in Slack's API ("true"/"false", also "1"/"0").
const BOOLEAN_ARGS = new Set([
  'reply_broadcast',
  'mrkdwn',
  'unfurl_links',
  'unfurl_media',
  'as_user',
  'link_names',
  'exclude_archived',
  'include_locale',
  'include_num_members',
  'inclusive',
  'include_all_metadata',
]);
const MAX_BODY_BYTES = 5 * 1024 * 1024;

export class WebApi {
  readonly requests: RecordedRequest[] = [];
  readonly #options: WebApiOptions;
  readonly #failures = new Map<string, { spec: FailureSpec; left: number }>();
  readonly #latency = new Latency();

  constructor(options: WebApiOptions) {
    this.#options = options;
  }

  /** The next `times` calls of `method` ("*" for any method) fail as `spec` says. */
  failNext(method: string, spec: FailureSpec = {}): void {
    this.#failures.set(method, { spec, left: spec.times ?? 1 });
  }

  /** See DelaySpec: the next `times` calls of `method` ("*" for any) are held `ms` milliseconds. */
  delayNext(method: string, spec: DelaySpec): void {
    this.#latency.delayNext(method, spec);
  }

  /** Ends every injected delay now (when the fake closes). */
  cancelDelays(): void {
    this.#latency.cancelAll();
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake-slack');
    const method = url.pathname.slice('/api/'.length);
    const contentType = req.headers['content-type'] ?? '';
    const body = await readBody(req);
    let parsed: { args: Record<string, unknown>; token: string | undefined };
    try {
      parsed = parseArgs(body, contentType, url.searchParams);
    } catch {
      send(res, { status: 200, body: { ok: false, error: 'invalid_json' } });
      return;
    }
    const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const token = bearer ?? parsed.token;
    const record: RecordedRequest = {
      method,
      args: parsed.args,
      body,
      contentType,
      token,
      status: 0,
      response: {},
      delivered: false,
    };
    this.requests.push(record);
    const delay = this.#latency.take(method);
    const afterEffect = delay?.afterEffect ?? true;
    if (delay && !afterEffect) await this.#latency.wait(delay.ms);
    const reply = this.#answer(method, parsed.args, token);
    record.status = reply.status;
    record.response = reply.body;
    if (delay && afterEffect) await this.#latency.wait(delay.ms);
    record.delivered = send(res, reply);
  }

  #answer(method: string, args: Args, token: string | undefined): Reply {
    const injected = this.#takeFailure(method) ?? this.#takeFailure('*');
    if (injected) return failureReply(injected);
    const def = METHODS[method];
    if (!def) return { status: 200, body: { ok: false, error: 'unknown_method', req_method: method } };
    if (!token) return { status: 200, body: { ok: false, error: 'not_authed' } };
    const kind = (Object.keys(this.#options.tokens) as TokenKind[]).find(
      (k) => this.#options.tokens[k] === token,
    );
    if (!kind) return { status: 200, body: { ok: false, error: 'invalid_auth' } };
    if (kind !== def.token) return { status: 200, body: { ok: false, error: 'not_allowed_token_type' } };
    return def.handle({ ...this.#options.context, args });
  }

  #takeFailure(method: string): FailureSpec | undefined {
    const entry = this.#failures.get(method);
    if (!entry) return undefined;
    entry.left -= 1;
    if (entry.left <= 0) this.#failures.delete(method);
    return entry.spec;
  }
}

function failureReply(spec: FailureSpec): Reply {
  const status = spec.status ?? (spec.retryAfter !== undefined ? 429 : 200);
  if (status === 429) {
    return {
      status,
      headers: { 'retry-after': String(spec.retryAfter ?? 1) },
      body: { ok: false, error: spec.error ?? 'ratelimited' },
    };
  }
  return {
    status,
    body: { ok: false, error: spec.error ?? (status >= 500 ? 'internal_error' : 'fatal_error') },
  };
}

function parseArgs(
  body: string,
  contentType: string,
  query: URLSearchParams,
): { args: Record<string, unknown>; token: string | undefined } {
  const args: Record<string, unknown> = {};
  for (const [key, value] of query) args[key] = decodeFormValue(key, value);
  if (contentType.startsWith('application/json')) {
    const json: unknown = body ? JSON.parse(body) : {};
    if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error('not an object');
    // Slack ignores a token inside a JSON body: JSON callers must use the Authorization header.
    const { token: _ignored, ...rest } = json as Record<string, unknown>;
    return { args: { ...args, ...rest }, token: undefined };
  }
  for (const [key, value] of new URLSearchParams(body)) args[key] = decodeFormValue(key, value);
  const { token, ...rest } = args;
  return { args: rest, token: typeof token === 'string' ? token : undefined };
}

function decodeFormValue(key: string, value: string): unknown {
  if (BOOLEAN_ARGS.has(key)) return value === 'true' || value === '1';
  if (JSON_ARGS.has(key)) {
    try {
      return JSON.parse(value);
    } catch {
      return value; // left as a string: the method answers invalid_blocks_format / invalid_attachments
    }
  }
  return value;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new Error('request body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Sends the answer unless the client has gone; says whether it was sent. */
function send(res: ServerResponse, reply: Reply): boolean {
  if (res.destroyed || res.writableEnded || !res.socket || res.socket.destroyed) return false;
  // A client that goes in the middle of the write must not crash the fake.
  res.on('error', () => {});
  res.writeHead(reply.status, { 'content-type': 'application/json; charset=utf-8', ...reply.headers });
  res.end(JSON.stringify(reply.body));
  return true;
}
