import type { IncomingHttpHeaders } from 'node:http';
import { type Verification, verifyToken } from '../signatures.ts';
import { headerValue, type PreflightAnswer } from '../webhook-source.ts';

// The CloudEvents Web Hook spec (cloudevents/spec, cloudevents/http-webhook.md): 3. Authorization and
// 4. Abuse Protection.

/**
 * 3. "The delivery target MUST support both methods": `Authorization: Bearer <token>` (3.1) or the
 * `access_token` query parameter (3.2), which is how Tekton, which signs nothing, can carry one in its
 * sink URL. Compared in constant time; the reason names where the token was looked for, never its value.
 */
export function verifyBearer(
  headers: IncomingHttpHeaders,
  url: URL | undefined,
  tokens: readonly string[],
): Verification {
  const authorization = headerValue(headers, 'authorization');
  if (authorization !== undefined) {
    const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization);
    if (!match) return { ok: false, reason: 'the Authorization header is not "Bearer <token>"' };
    return verifyToken('the bearer token', match[1], tokens);
  }
  const fromQuery = url?.searchParams.get('access_token') ?? undefined;
  if (fromQuery === undefined) {
    return {
      ok: false,
      reason:
        'missing token: send Authorization: Bearer <token> or ?access_token=<token> (CLOUDEVENTS_TOKENS)',
    };
  }
  return verifyToken('access_token', fromQuery, tokens);
}

/**
 * 4.1/4.2: an OPTIONS request naming its sender in `WebHook-Request-Origin` is granted, with
 * `WebHook-Allowed-Origin` and `Allow: POST`, when that origin is allowed. `WebHook-Allowed-Rate` is
 * `*`: this endpoint sets no rate of its own. The handshake is consent, not authentication (4.), so it
 * needs no token; but an endpoint that would refuse every delivery consents to none.
 */
export function answerPreflight(
  headers: IncomingHttpHeaders,
  allowedOrigins: readonly string[],
  notConfigured: string | undefined,
): PreflightAnswer {
  const allow = { allow: 'POST' };
  if (notConfigured) return { status: 403, headers: allow, message: notConfigured };
  const origin = headerValue(headers, 'webhook-request-origin')?.trim();
  if (!origin) {
    return {
      status: 400,
      headers: allow,
      message: 'OPTIONS here is the CloudEvents Web Hook handshake: send WebHook-Request-Origin',
    };
  }
  const anyOrigin = allowedOrigins.includes('*');
  if (!anyOrigin && !allowedOrigins.includes(origin.toLowerCase())) {
    return {
      status: 403,
      headers: allow,
      message: `WebHook-Request-Origin ${JSON.stringify(origin)} is not in CLOUDEVENTS_ALLOWED_ORIGINS`,
    };
  }
  return {
    status: 200,
    headers: {
      ...allow,
      'webhook-allowed-origin': anyOrigin ? '*' : origin,
      'webhook-allowed-rate': '*',
    },
    message: `deliveries from ${origin} are welcome`,
  };
}
