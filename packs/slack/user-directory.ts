import type { WebClient } from '@slack/web-api';

/** The user fields ReceivedMessage carries (flyte-slack's shape). */
export interface SlackUser {
  id: string;
  name?: string;
  email?: string;
  title?: string;
  firstName?: string;
  lastName?: string;
}

interface CachedUser {
  user: SlackUser;
  expiresAt: number;
}

/**
 * users.info behind a cache with a time to live: one lookup per user per TTL, not one per message
 * (flyte-slack's weakness). A failed lookup answers with the id alone, so the event still goes out.
 */
export class UserDirectory {
  readonly #client: Pick<WebClient, 'users'>;
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #cache = new Map<string, CachedUser>();
  readonly #pending = new Map<string, Promise<SlackUser>>();

  /** `ttlMs` default: 10 minutes. */
  constructor(client: Pick<WebClient, 'users'>, options: { ttlMs?: number; now?: () => number } = {}) {
    this.#client = client;
    this.#ttlMs = options.ttlMs ?? 600_000;
    this.#now = options.now ?? Date.now;
  }

  async lookup(userId: string): Promise<SlackUser> {
    const cached = this.#cache.get(userId);
    if (cached && cached.expiresAt > this.#now()) return cached.user;
    const pending = this.#pending.get(userId);
    if (pending) return pending;
    const lookup = this.#fetch(userId).finally(() => this.#pending.delete(userId));
    this.#pending.set(userId, lookup);
    return lookup;
  }

  async #fetch(userId: string): Promise<SlackUser> {
    try {
      const answer = await this.#client.users.info({ user: userId });
      const profile = answer.user?.profile ?? {};
      const user: SlackUser = { id: userId };
      const name = profile.display_name || answer.user?.name;
      if (name) user.name = name;
      if (profile.email) user.email = profile.email;
      if (profile.title) user.title = profile.title;
      if (profile.first_name) user.firstName = profile.first_name;
      if (profile.last_name) user.lastName = profile.last_name;
      this.#cache.set(userId, { user, expiresAt: this.#now() + this.#ttlMs });
      return user;
    } catch {
      // Not cached, so the next message tries again.
      return { id: userId };
    }
  }
}
