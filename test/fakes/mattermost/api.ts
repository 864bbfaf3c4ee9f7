// The HTTP side: finds the endpoint for a request, records it, applies injected failures, the rate limiter
// and delays, checks the token, and sends exactly one answer. Endpoints live in *-endpoints.ts and throw
// AppError to answer with an error.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseForRecord, safeDecode } from '../request-text.ts';
import type { Publisher } from './events.ts';
import type { Faults } from './faults.ts';
import { newId } from './ids.ts';
import type { RateLimiter } from './rate-limit.ts';
import { AppError, appErrorReply, errors, type Reply, readBody, send } from './reply.ts';
import type { MattermostState, Post } from './state.ts';
import type { FollowUp, HookPost, IntegrationSettings } from './webhook-posts.ts';

export interface RecordedRequest {
  readonly method: string;
  /** Path as received, still URL-encoded, without the query. */
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  /** Endpoint name (see ENDPOINT_NAMES); undefined for a path the fake does not serve. */
  readonly endpoint: string | undefined;
  /** The parsed JSON body, or the raw text when it was not JSON; undefined when empty. */
  readonly body: unknown;
  readonly contentType: string;
  /** The token sent (Authorization Bearer/Token, MMAUTHTOKEN cookie or access_token), valid or not. */
  readonly token: string | undefined;
  /** The user behind the token, when it was valid. */
  userId: string | undefined;
  /** What the fake answered; 0 while pending or when the connection was dropped on purpose. */
  status: number;
  response: unknown;
  /** False when the client had gone before the answer could be sent. */
  delivered: boolean;
}

/** Everything an endpoint may use besides its request. */
export interface Services {
  readonly state: MattermostState;
  readonly publisher: Publisher;
  readonly settings: IntegrationSettings;
  /** Drop pending_post_id entries this long after the post was made (the server's cache TTL). */
  readonly pendingPostIdTtlMs: number;
  /** Refuse a REST post with no message, attachments or files (see FakeMattermostOptions.rejectEmptyPosts). */
  readonly rejectEmptyPosts: boolean;
  /** Post join/leave system messages (see FakeMattermostOptions.systemMessages). */
  readonly systemMessages: boolean;
  readonly hookPosts: HookPost[];
  readonly followUps: FollowUp[];
  readonly serverVersion: string;
}

export interface Context {
  readonly services: Services;
  /** The caller, for endpoints with auth "required"; "" otherwise. */
  readonly userId: string;
  /** Path parameters, URL-decoded. */
  readonly params: readonly string[];
  readonly query: URLSearchParams;
  /** The raw body. */
  readonly text: string;
  readonly contentType: string;
  readonly requestId: string;
  /**
   * Waits out an injected `afterEffect: false` delay. The router calls it before `handle` unless the
   * endpoint says `ownsDelay` (createPost calls it after reserving its pending_post_id).
   */
  readonly beforeEffect: () => Promise<void>;
}

export interface Endpoint {
  /** Name for failNext/delayNext and RecordedRequest.endpoint: the Client4 method that calls it. */
  readonly name: string;
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Matched against the raw path; each capture group is one URL-decoded parameter. */
  readonly path: RegExp;
  readonly auth: 'required' | 'none';
  readonly ownsDelay?: boolean;
  handle(context: Context): Reply | Promise<Reply>;
}

interface RouteMatch {
  readonly endpoint: Endpoint | undefined;
  readonly params: string[];
}

export class HttpApi {
  readonly requests: RecordedRequest[] = [];
  readonly #endpoints: readonly Endpoint[];
  readonly #services: Services;
  readonly #faults: Faults;
  readonly #limiter: RateLimiter;

  constructor(endpoints: readonly Endpoint[], services: Services, faults: Faults, limiter: RateLimiter) {
    this.#endpoints = endpoints;
    this.#services = services;
    this.#faults = faults;
    this.#limiter = limiter;
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake-mattermost');
    const method = req.method ?? 'GET';
    const found = this.#route(method, url.pathname);
    const requestId = newId();
    const text = await readBody(req);
    const contentType = req.headers['content-type'] ?? '';
    const token = tokenOf(req, url);
    const record: RecordedRequest = {
      method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      endpoint: found?.endpoint?.name,
      body: parseForRecord(text),
      contentType,
      token,
      userId: undefined,
      status: 0,
      response: undefined,
      delivered: false,
    };
    this.requests.push(record);
    const headers: Record<string, string> = {
      'X-Request-Id': requestId,
      'X-Version-Id': `${this.#services.serverVersion}.0.fake.false`,
    };

    const decodedPath = safeDecode(url.pathname);
    const failure = this.#faults.takeFailure(record.endpoint, decodedPath, requestId);
    if (failure?.disconnect) {
      req.socket.destroy();
      return;
    }
    // The server's limiter wraps every route and keys on the token, or on the client address without one.
    const admission = this.#limiter.take(token ?? `ip:${req.socket.remoteAddress ?? ''}`);
    Object.assign(headers, admission?.headers);
    const delay = this.#faults.takeDelay(record.endpoint, decodedPath);
    const afterEffect = delay?.afterEffect ?? true;
    const beforeEffect = async () => {
      if (delay && !afterEffect) await this.#faults.wait(delay.ms);
    };

    let reply: Reply;
    if (failure) reply = failure.reply;
    else if (admission && !admission.allowed) reply = { status: 429, text: 'limit exceeded\n' };
    else
      reply = await this.#answer(
        found,
        method,
        url,
        { text, contentType, requestId, token, beforeEffect },
        record,
      );
    record.status = reply.status;
    record.response = reply.json ?? reply.text;
    if (delay && afterEffect) await this.#faults.wait(delay.ms);
    record.delivered = send(res, reply, headers);
  }

  async #answer(
    found: RouteMatch | undefined,
    method: string,
    url: URL,
    request: {
      text: string;
      contentType: string;
      requestId: string;
      token: string | undefined;
      beforeEffect: () => Promise<void>;
    },
    record: RecordedRequest,
  ): Promise<Reply> {
    const { requestId } = request;
    if (!found)
      return appErrorReply(404, 'api.context.404.app_error', 'Sorry, we could not find the page.', requestId);
    const endpoint = found.endpoint;
    if (!endpoint)
      return appErrorReply(
        405,
        'api.context.405.app_error',
        `Method ${method} is not allowed here.`,
        requestId,
      );
    try {
      let userId = '';
      if (endpoint.auth === 'required') {
        const session = request.token === undefined ? undefined : this.#services.state.session(request.token);
        if (!session) throw errors.sessionExpired();
        userId = session;
        record.userId = session;
      }
      if (!endpoint.ownsDelay) await request.beforeEffect();
      return await endpoint.handle({
        services: this.#services,
        userId,
        params: found.params,
        query: url.searchParams,
        text: request.text,
        contentType: request.contentType,
        requestId,
        beforeEffect: request.beforeEffect,
      });
    } catch (error) {
      if (error instanceof AppError) return error.toReply(requestId);
      return appErrorReply(
        500,
        'fake.internal_error',
        `Internal error in the fake: ${String(error)}`,
        requestId,
      );
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
}

/**
 * Where the server looks for a token (ParseAuthTokenFromRequest): `Authorization: Bearer|Token <t>` (Client4
 * sends "BEARER"), then the MMAUTHTOKEN cookie, then the access_token query parameter.
 */
export function tokenOf(req: IncomingMessage, url: URL): string | undefined {
  const header = /^(?:bearer|token)\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
  if (header) return header;
  const cookie = /(?:^|;\s*)MMAUTHTOKEN=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];
  if (cookie) return cookie;
  return url.searchParams.get('access_token') ?? undefined;
}

/** What a stored post looks like to a reader: the id must be valid, the post known and its channel readable. */
export function readablePost(services: Services, userId: string, postId: string): Post {
  const post = services.state.post(postId);
  if (!post) throw new AppError(404, 'app.post.get.app_error', 'Unable to get the post.');
  const channel = services.state.channel(post.channel_id);
  if (!channel || !services.state.canRead(channel, userId)) throw errors.permissions();
  return post;
}
