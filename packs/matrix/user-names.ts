import type { MatrixClient } from 'matrix-js-sdk';

const TTL_MS = 10 * 60 * 1000;

/**
 * Display names for ReceivedMessage, from the profile API with a cache: not one call per message. A lookup
 * that fails gives the user id's localpart, so the event is still emitted.
 */
export class UserNames {
  readonly #client: MatrixClient;
  readonly #names = new Map<string, { name: string; at: number }>();

  constructor(client: MatrixClient) {
    this.#client = client;
  }

  async lookup(userId: string): Promise<string> {
    const cached = this.#names.get(userId);
    if (cached && Date.now() - cached.at < TTL_MS) return cached.name;
    let name = userId.replace(/^@/, '').split(':')[0] ?? userId;
    try {
      const profile = await this.#client.getProfileInfo(userId, 'displayname');
      if (typeof profile.displayname === 'string' && profile.displayname) name = profile.displayname;
    } catch {
      // The localpart will do; the next message tries again after the TTL.
    }
    this.#names.set(userId, { name, at: Date.now() });
    return name;
  }
}
