import type { WebClient } from '@slack/web-api';
import { CodedError } from '../../shared/errors.ts';

export interface ChannelSummary {
  id: string;
  name: string;
  topic: string;
}

/** Slack channel ids: C (public), G (private or group), D (direct message), then capitals and digits; names are lower-case. */
const CHANNEL_ID = /^[CGD][A-Z0-9]+$/;

/**
 * Turns what a command names a channel by (`C0123`, `#deploys` or `deploys`) into its id, through a cache
 * of conversations.list that is read again, all pages, when a name is not in it.
 */
export class ChannelResolver {
  readonly #client: Pick<WebClient, 'conversations'>;
  #byName = new Map<string, ChannelSummary>();
  #refreshing: Promise<void> | undefined;

  constructor(client: Pick<WebClient, 'conversations'>) {
    this.#client = client;
  }

  /** The channel's id; fails with `channel_not_found` when no channel has that name. */
  async resolve(reference: string): Promise<string> {
    if (CHANNEL_ID.test(reference)) return reference;
    return (await this.find(reference)).id;
  }

  /** The channel by name (with or without `#`); fails with `channel_not_found`. */
  async find(reference: string): Promise<ChannelSummary> {
    const name = reference.replace(/^#/, '');
    const cached = this.#byName.get(name);
    if (cached) return cached;
    await this.#refresh();
    const found = this.#byName.get(name);
    if (!found) throw new CodedError('channel_not_found', `no channel named #${name} is visible to the bot`);
    return found;
  }

  #refresh(): Promise<void> {
    // Concurrent misses share one listing.
    this.#refreshing ??= this.#list().finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  async #list(): Promise<void> {
    const byName = new Map<string, ChannelSummary>();
    let cursor: string | undefined;
    do {
      const page = await this.#client.conversations.list({
        types: 'public_channel,private_channel',
        exclude_archived: true,
        limit: 200,
        ...(cursor ? { cursor } : {}),
      });
      for (const channel of page.channels ?? []) {
        if (channel.id && channel.name) {
          byName.set(channel.name, { id: channel.id, name: channel.name, topic: channel.topic?.value ?? '' });
        }
      }
      cursor = page.response_metadata?.next_cursor || undefined;
    } while (cursor);
    this.#byName = byName;
  }
}
