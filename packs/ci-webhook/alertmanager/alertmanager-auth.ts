import { type Verification, verifyToken } from '../signatures.ts';

/**
 * Checks the `Authorization` header as Alertmanager's `http_config` sends it (prometheus/common
 * config/http_config.go): `authorization: {type: Bearer, credentials}` sends `Bearer <credentials>`,
 * `basic_auth: {username, password}` sends `Basic base64(username:password)` (Go's SetBasicAuth). Either
 * way the secret must be one of `tokens`; the Basic user name is not checked, so any name will do.
 * Compared in constant time (verifyToken); reasons name what is wrong, never a value.
 */
export function verifyAlertmanagerAuthorization(
  authorization: string | undefined,
  tokens: readonly string[],
): Verification {
  const header = authorization?.trim() ?? '';
  if (header === '') {
    return {
      ok: false,
      reason:
        'missing Authorization header: give the webhook_config an http_config with authorization (Bearer) or basic_auth',
    };
  }
  const space = header.search(/\s/);
  const scheme = (space === -1 ? header : header.slice(0, space)).toLowerCase();
  const credentials = space === -1 ? '' : header.slice(space).trim();
  // RFC 9110 section 11.1: the scheme is case-insensitive.
  if (scheme === 'bearer') {
    if (credentials === '') return { ok: false, reason: 'the Authorization header has no Bearer token' };
    return verifyToken('the Bearer token', credentials, tokens);
  }
  if (scheme === 'basic') {
    const password = basicPassword(credentials);
    if (password === undefined) {
      return { ok: false, reason: 'the Basic credentials are not base64 of user:password' };
    }
    if (password === '') return { ok: false, reason: 'the Basic credentials have no password' };
    return verifyToken('the Basic password', password, tokens);
  }
  return { ok: false, reason: 'the Authorization scheme is neither Bearer nor Basic' };
}

/** The password of `base64(user:password)` (RFC 7617: the user name has no colon), or undefined. */
function basicPassword(credentials: string): string | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(credentials) || credentials.length % 4 !== 0) return undefined;
  const decoded = Buffer.from(credentials, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon === -1 ? undefined : decoded.slice(colon + 1);
}
