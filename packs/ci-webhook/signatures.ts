import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** The outcome of checking a delivery's credentials; `reason` names headers, never their values. */
export type Verification = { ok: true } | { ok: false; reason: string };

const OK: Verification = { ok: true };

export interface HmacCheck {
  /** The header's name, for the reason given on failure. */
  header: string;
  /** The header's value as received, e.g. `sha256=<hex>`; undefined when the header is missing. */
  presented: string | undefined;
  /** The exact bytes received: signatures are over them, never over re-serialized JSON. */
  body: Buffer;
  /** Any of these may have signed the body (several during a rotation). */
  secrets: readonly (string | Buffer)[];
  algorithm?: 'sha256' | 'sha512' | 'sha1';
  /** What precedes the digest: `sha256=` (GitHub), `sha256:` (JobServ), or nothing. */
  prefix?: string;
  encoding?: 'hex' | 'base64';
}

/** Checks `<prefix><digest>` against the HMAC of the body under each secret, in constant time. */
export function verifyHmac(check: HmacCheck): Verification {
  const { header, presented, algorithm = 'sha256', prefix = '', encoding = 'hex' } = check;
  if (presented === undefined || presented === '') return { ok: false, reason: `missing ${header} header` };
  if (!presented.startsWith(prefix))
    return { ok: false, reason: `${header} does not start with "${prefix}"` };
  const digestBytes = DIGEST_BYTES[algorithm];
  const given = decodeDigest(presented.slice(prefix.length).trim(), encoding, digestBytes);
  if (!given) {
    return { ok: false, reason: `${header} is not a ${encoding} HMAC-${algorithm.toUpperCase()} digest` };
  }
  const matched = check.secrets.some((secret) =>
    timingSafeEqual(given, createHmac(algorithm, secret).update(check.body).digest()),
  );
  return matched ? OK : { ok: false, reason: `${header} matches none of the configured secrets` };
}

/** Checks a plain shared token (GitLab's X-Gitlab-Token) without leaking its length or content by timing. */
export function verifyToken(
  header: string,
  presented: string | undefined,
  tokens: readonly string[],
): Verification {
  if (presented === undefined || presented === '') return { ok: false, reason: `missing ${header} header` };
  // Hashing both sides gives equal lengths, which timingSafeEqual needs, and hides the token's length.
  const given = sha256(presented);
  const matched = tokens.some((token) => timingSafeEqual(given, sha256(token)));
  return matched ? OK : { ok: false, reason: `${header} matches none of the configured tokens` };
}

export interface StandardWebhookCheck {
  /** The `webhook-id`, `webhook-timestamp` and `webhook-signature` headers as received. */
  id: string | undefined;
  timestamp: string | undefined;
  signature: string | undefined;
  body: Buffer;
  /** Decoded keys (the base64 after `whsec_`). */
  keys: readonly Buffer[];
  nowMs: number;
  /** How far the timestamp may be from now, either way. Default: 5 minutes, as the spec suggests. */
  toleranceSeconds?: number;
}

/**
 * Standard Webhooks (https://www.standardwebhooks.com, spec/standard-webhooks.md): `webhook-signature`
 * holds space-separated `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`; any one may match.
 * The timestamp bounds replays of a captured delivery.
 */
export function verifyStandardWebhook(check: StandardWebhookCheck): Verification {
  const { id, timestamp, signature } = check;
  if (!id) return { ok: false, reason: 'missing webhook-id header' };
  if (!timestamp) return { ok: false, reason: 'missing webhook-timestamp header' };
  if (!signature) return { ok: false, reason: 'missing webhook-signature header' };
  if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: 'webhook-timestamp is not a Unix time' };
  const tolerance = check.toleranceSeconds ?? 300;
  if (Math.abs(check.nowMs / 1000 - Number(timestamp)) > tolerance) {
    return { ok: false, reason: `webhook-timestamp is more than ${tolerance} s away from now` };
  }
  const signed = Buffer.concat([Buffer.from(`${id}.${timestamp}.`, 'utf8'), check.body]);
  const expected = check.keys.map((key) => createHmac('sha256', key).update(signed).digest());
  const given = signature
    .split(' ')
    .filter((entry) => entry.startsWith('v1,'))
    .map((entry) => decodeDigest(entry.slice(3), 'base64', 32))
    .filter((digest) => digest !== undefined);
  if (given.length === 0) return { ok: false, reason: 'webhook-signature has no v1 signature' };
  const matched = given.some((digest) => expected.some((candidate) => timingSafeEqual(digest, candidate)));
  return matched ? OK : { ok: false, reason: 'webhook-signature matches none of the configured keys' };
}

const DIGEST_BYTES = { sha1: 20, sha256: 32, sha512: 64 } as const;

/** The digest's bytes, or undefined unless it is well-formed and exactly `bytes` long. */
function decodeDigest(text: string, encoding: 'hex' | 'base64', bytes: number): Buffer | undefined {
  if (encoding === 'hex') {
    return /^[0-9a-fA-F]+$/.test(text) && text.length === bytes * 2 ? Buffer.from(text, 'hex') : undefined;
  }
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return undefined;
  const decoded = Buffer.from(text, 'base64');
  return decoded.length === bytes ? decoded : undefined;
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
