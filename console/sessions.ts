import { randomBytes } from 'node:crypto';

/** How long a login lasts. */
export const SESSION_LIFETIME_MS = 12 * 60 * 60 * 1000;
/** Sessions kept at most; past it, the oldest login is forgotten (its browser signs in again). */
export const MAX_SESSIONS = 1000;
export const SESSION_COOKIE = 'switchboard_session';

/**
 * The console's logins, in memory: a restart signs everyone out, which is what a token rotation wants.
 * A session id is 32 random bytes, worthless to guess, and stands for the token without being it.
 */
export class Sessions {
  readonly #expiries = new Map<string, number>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  create(): { id: string; maxAgeSeconds: number } {
    const id = randomBytes(32).toString('base64url');
    this.#expiries.set(id, this.#now() + SESSION_LIFETIME_MS);
    while (this.#expiries.size > MAX_SESSIONS) {
      const oldest = this.#expiries.keys().next().value;
      if (oldest === undefined) break;
      this.#expiries.delete(oldest);
    }
    return { id, maxAgeSeconds: SESSION_LIFETIME_MS / 1000 };
  }

  isValid(id: string | undefined): boolean {
    if (id === undefined) return false;
    const expiry = this.#expiries.get(id);
    if (expiry === undefined) return false;
    if (expiry > this.#now()) return true;
    this.#expiries.delete(id);
    return false;
  }

  end(id: string | undefined): void {
    if (id !== undefined) this.#expiries.delete(id);
  }
}

/** The session id from a Cookie header, if any. */
export function sessionIdOf(cookieHeader: string | undefined): string | undefined {
  for (const part of (cookieHeader ?? '').split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === SESSION_COOKIE) return value.join('=') || undefined;
  }
  return undefined;
}

/** HttpOnly: no script reads it; SameSite=Strict: no other site's page sends it. */
export function sessionCookie(id: string, maxAgeSeconds: number): string {
  return `${SESSION_COOKIE}=${id}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${maxAgeSeconds}`;
}

export function clearedSessionCookie(): string {
  return `${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`;
}
