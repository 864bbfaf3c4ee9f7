import type { Client4 } from '@mattermost/client';
import { CodedError } from '../../shared/errors.ts';
import { MattermostHttpError } from './mattermost-client.ts';
import { mattermostFailure } from './mattermost-errors.ts';

/** Mattermost ids are 26 lower-case letters and digits. */
const CHANNEL_ID = /^[a-z0-9]{26}$/;

/** Channel references: an id as is, `team/channel` (names as in the channel's URL) through the API, cached. */
export class Channels {
  readonly #client: Client4;
  readonly #byName = new Map<string, string>();

  constructor(client: Client4) {
    this.#client = client;
  }

  async resolve(reference: string): Promise<string> {
    const trimmed = reference.trim();
    if (CHANNEL_ID.test(trimmed)) return trimmed;
    const match = /^([^/\s]+)\/~?([^/\s]+)$/.exec(trimmed);
    if (!match) {
      throw new CodedError(
        'invalid_input',
        `"${reference}" is neither a channel id nor team/channel (the names in the channel's URL)`,
      );
    }
    const cached = this.#byName.get(trimmed);
    if (cached) return cached;
    try {
      const channel = await this.#client.getChannelByNameAndTeamName(match[1] as string, match[2] as string);
      this.#byName.set(trimmed, channel.id);
      return channel.id;
    } catch (error) {
      if (error instanceof MattermostHttpError && (error.status === 404 || error.status === 403))
        throw new CodedError('channel_not_found', `no channel ${trimmed} that the bot can see`, {
          cause: error,
        });
      throw mattermostFailure(error, `looking up ${trimmed}`);
    }
  }
}

/** The channels the bot is a member of, in every team it is in (REST v4 lists them team by team). */
export async function myChannels(client: Client4): Promise<Array<{ id: string; type: string }>> {
  const teams = await client.getMyTeams();
  const perTeam = await Promise.all(teams.map((team) => client.getMyChannels(team.id)));
  const byId = new Map(perTeam.flat().map((channel) => [channel.id, channel]));
  return [...byId.values()];
}
