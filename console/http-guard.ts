import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Request bodies above this get 413 (issue 13, Security). */
export const MAX_BODY_BYTES = 1024 * 1024;

/**
 * No inline script or style anywhere: pages load their modules from /static and /vendor. frame-ancestors
 * and X-Frame-Options both forbid framing (old browsers know only the header).
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Content-Type-Options': 'nosniff',
  // Not no-referrer: under it, browsers send `Origin: null` with form posts, and the login form would fail
  // the Origin check. same-origin still tells other sites nothing.
  'Referrer-Policy': 'same-origin',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

/** Why a request is turned away before any route sees it, or undefined to let it through. */
export interface Refusal {
  status: number;
  code: string;
  message: string;
}

/** How a request may prove it may use the console: the token itself, or a session from the login form. */
export interface ConsoleAuth {
  token: string | undefined;
  /** Whether a session id (from the cookie) is a live login. */
  isSession(id: string | undefined): boolean;
  sessionIdOf(request: IncomingMessage): string | undefined;
}

/**
 * The checks every request passes, in order: the token or a login session (when a token is set), the
 * Origin of state-changing requests, the declared body size. Routes that read a body must still read it
 * through readBody, which counts.
 */
export function guardRequest(request: IncomingMessage, auth: ConsoleAuth): Refusal | undefined {
  if (auth.token !== undefined && !isAuthorized(request, auth.token, auth)) {
    return {
      status: 401,
      code: 'unauthorized',
      message: 'send Authorization: Bearer <SWITCHBOARD_CONSOLE_TOKEN>, or sign in at /login',
    };
  }
  if (isStateChanging(request.method) && !isSameOrigin(request)) {
    return {
      status: 403,
      code: 'cross_origin',
      message: 'a request that changes something must come from the console itself (Origin)',
    };
  }
  const declared = Number(request.headers['content-length'] ?? 0);
  if (declared > MAX_BODY_BYTES) return tooLarge();
  return undefined;
}

function isAuthorized(request: IncomingMessage, token: string, auth: ConsoleAuth): boolean {
  const match = /^Bearer (.+)$/.exec(request.headers.authorization ?? '');
  if (match?.[1]) return hasToken(match[1], token);
  return auth.isSession(auth.sessionIdOf(request));
}

/** Constant-time compare, so response timing says nothing about how much of a guess was right. */
export function hasToken(given: string, token: string): boolean {
  const givenBytes = Buffer.from(given);
  const expected = Buffer.from(token);
  return givenBytes.length === expected.length && timingSafeEqual(givenBytes, expected);
}

function isStateChanging(method: string | undefined): boolean {
  return method !== 'GET' && method !== 'HEAD' && method !== 'OPTIONS';
}

/**
 * The one place state-changing requests check where they come from, so a web page the operator happens to
 * visit cannot send commands through a console on localhost. Browsers always send Origin on such requests;
 * a client without one (curl, scripts) is not a browser page and still needs the token when one is set.
 */
function isSameOrigin(request: IncomingMessage): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  return origin === `http://${request.headers.host}`;
}

/** Reads a body of at most MAX_BODY_BYTES, whatever Content-Length claimed; rejects with a 413 Refusal. */
export async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function tooLarge(): Refusal {
  return {
    status: 413,
    code: 'body_too_large',
    message: `request bodies are limited to ${MAX_BODY_BYTES} bytes`,
  };
}

export function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
  });
  response.end(response.req.method === 'HEAD' ? undefined : text);
}

export function sendError(response: ServerResponse, refusal: Refusal): void {
  if (refusal.status === 401) response.setHeader('WWW-Authenticate', 'Bearer');
  sendJson(response, refusal.status, { error: { code: refusal.code, message: refusal.message } });
}

/** A thrown Refusal ends the request with its status; anything else thrown is a 500. */
export function isRefusal(value: unknown): value is Refusal {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Refusal).status === 'number' &&
    typeof (value as Refusal).code === 'string' &&
    typeof (value as Refusal).message === 'string'
  );
}

/** The body as JSON: 415 unless it says application/json, 400 when it does not parse, 413 past the limit. */
export async function readJsonBody(request: IncomingMessage): Promise<unknown> {
  const type = (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/json') {
    throw {
      status: 415,
      code: 'unsupported_media_type',
      message: 'send the body as JSON, with Content-Type: application/json',
    } satisfies Refusal;
  }
  const body = await readBody(request);
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw {
      status: 400,
      code: 'invalid_json',
      message: `the body is not valid JSON: ${(error as Error).message}`,
    } satisfies Refusal;
  }
}
