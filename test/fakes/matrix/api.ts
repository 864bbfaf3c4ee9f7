// The HTTP side of the client-server API: finds the endpoint for a request, records it, applies injected
// failures and delays, checks the access token, and sends exactly one answer. Endpoints live in
// account-endpoints.ts and room-endpoints.ts; they throw MatrixError to answer with an error.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseForRecord, safeDecode } from '../request-text.ts';
import type { Faults } from './faults.ts';
import type { RateLimiter } from './rate-limit.ts';
import { errorReply, MatrixError, parseJsonObject, type Reply, readBody, send } from './reply.ts';
import type { MatrixState, Session } from './state.ts';
import type { SyncWaiters } from './sync.ts';

/** Both stable prefixes: Synapse still serves r0, and older snippets (like the seed's curl) use it. */
export const V3 = '/_matrix/client/(?:r0|v3)';

export interface SentEvent {
  readonly roomId: string;
  /** Event type from the path, m.room.message for messages. */
  readonly type: string;
  readonly txnId: string;
  readonly content: Readonly<Record<string, unknown>>;
  readonly eventId: string;
  readonly sender: string;
  readonly deviceId: string;
}

export interface RecordedRequest {
  readonly method: string;
  /** Path as received, still URL-encoded, without the query. */
  readonly path: string;
  /** Endpoint name (see ENDPOINT_NAMES); undefined for a path the fake does not serve. */
  readonly endpoint: string | undefined;
  readonly query: Readonly<Record<string, string>>;
  /** The parsed JSON body, or the raw text when it was not JSON; undefined when empty. */
  body: unknown;
  /** The user behind the access token, when it was valid. */
  userId: string | undefined;
  /** What the fake answered; 0 while pending or when the connection was dropped on purpose. */
  status: number;
  response: unknown;
  /** False when the client had gone before the answer could be sent. */
  delivered: boolean;
}

/** Everything an endpoint may use besides its request. */
export interface Services {
  readonly state: MatrixState;
  readonly waiters: SyncWaiters;
  readonly sendLimiter: RateLimiter;
  readonly sends: SentEvent[];
  /** Wall clock in milliseconds. */
  readonly clock: () => number;
  readonly txnScope: 'device' | 'token';
  readonly timelineLimit: number;
}

export interface Context {
  readonly services: Services;
  /** Set whenever the request carried a valid token (always for auth "required"). */
  readonly session: Session | undefined;
  /** Path parameters, URL-decoded. */
  readonly params: readonly string[];
  readonly query: URLSearchParams;
  readonly body: Record<string, unknown>;
  /** Aborts when the client goes away, so a long-poll can stop waiting. */
  readonly signal: AbortSignal;
}

export interface Endpoint {
  /** Name for failNext/delayNext and RecordedRequest.endpoint; several routes may share one. */
  readonly name: string;
  readonly method: 'GET' | 'POST' | 'PUT';
  /** Matched against the raw path; each capture group is one URL-decoded parameter. */
  readonly path: RegExp;
  /** "optional": a token is checked when present (as Synapse does for /versions). */
  readonly auth: 'required' | 'optional' | 'none';
  handle(context: Context): Reply | Promise<Reply>;
}

interface RouteMatch {
  readonly endpoint: Endpoint | undefined;
  readonly params: string[];
}

export class ClientApi {
  readonly requests: RecordedRequest[] = [];
  readonly #endpoints: readonly Endpoint[];
  readonly #services: Services;
  readonly #faults: Faults;

  constructor(endpoints: readonly Endpoint[], services: Services, faults: Faults) {
    this.#endpoints = endpoints;
    this.#services = services;
    this.#faults = faults;
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake-matrix');
    const method = req.method ?? 'GET';
    const found = this.#route(method, url.pathname);
    const text = await readBody(req);
    const record: RecordedRequest = {
      method,
      path: url.pathname,
      endpoint: found?.endpoint?.name,
      query: Object.fromEntries(url.searchParams),
      body: parseForRecord(text),
      userId: undefined,
      status: 0,
      response: undefined,
      delivered: false,
    };
    this.requests.push(record);

    const decodedPath = safeDecode(url.pathname);
    const failure = this.#faults.takeFailure(record.endpoint, decodedPath);
    if (failure?.disconnect) {
      req.socket.destroy();
      return;
    }
    const delay = this.#faults.takeDelay(record.endpoint, decodedPath);
    const afterEffect = delay?.afterEffect ?? true;
    if (delay && !afterEffect) await this.#faults.wait(delay.ms);

    const closed = new AbortController();
    res.on('close', () => closed.abort());
    const reply =
      failure?.reply ?? (await this.#answer(found, method, url, text, req, record, closed.signal));
    record.status = reply.status;
    record.response = reply.body;
    if (delay && afterEffect) await this.#faults.wait(delay.ms);
    record.delivered = send(res, reply);
  }

  async #answer(
    found: RouteMatch | undefined,
    method: string,
    url: URL,
    text: string,
    req: IncomingMessage,
    record: RecordedRequest,
    signal: AbortSignal,
  ): Promise<Reply> {
    if (!found) return errorReply(404, 'M_UNRECOGNIZED', 'Unrecognized request');
    if (!found.endpoint) return errorReply(405, 'M_UNRECOGNIZED', `Unrecognized request: ${method}`);
    try {
      const session = this.#authenticate(found.endpoint.auth, req, url);
      record.userId = session?.userId;
      return await found.endpoint.handle({
        services: this.#services,
        session,
        params: found.params,
        query: url.searchParams,
        body: method === 'GET' ? {} : parseJsonObject(text),
        signal,
      });
    } catch (error) {
      if (error instanceof MatrixError) return error.toReply();
      return errorReply(500, 'M_UNKNOWN', `Internal server error: ${String(error)}`);
    }
  }

  /** The endpoint for the path; `endpoint` undefined when the path is served but not with this method. */
  #route(method: string, pathname: string): RouteMatch | undefined {
    let pathKnown = false;
    for (const endpoint of this.#endpoints) {
      const match = endpoint.path.exec(pathname);
      if (!match) continue;
      if (endpoint.method !== method) {
        pathKnown = true;
        continue;
      }
      return { endpoint, params: match.slice(1).map((param) => safeDecode(param ?? '')) };
    }
    return pathKnown ? { endpoint: undefined, params: [] } : undefined;
  }

  #authenticate(mode: Endpoint['auth'], req: IncomingMessage, url: URL): Session | undefined {
    if (mode === 'none') return undefined;
    // The query parameter is deprecated but still accepted by Synapse, and used by older snippets.
    const token =
      /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1] ??
      url.searchParams.get('access_token') ??
      undefined;
    if (token === undefined) {
      if (mode === 'optional') return undefined;
      throw new MatrixError(401, 'M_MISSING_TOKEN', 'Missing access token');
    }
    const session = this.#services.state.session(token);
    if (!session)
      throw new MatrixError(401, 'M_UNKNOWN_TOKEN', 'Unrecognised access token', { soft_logout: false });
    return session;
  }
}
