import { ChannelPacer } from '../../shared/runtime/channel-pacer.ts';
import { definePack, type PackDefinition } from '../../shared/runtime/pack-definition.ts';
import { Channels } from './channels.ts';
import { type MattermostCommandDeps, mattermostCommands } from './commands.ts';
import { createMattermostClient, MattermostHttpError } from './mattermost-client.ts';
import type { MattermostConfig } from './mattermost-config.ts';
import { mattermostFailure } from './mattermost-errors.ts';
import { MattermostListener } from './mattermost-events.ts';
import { type Poster, RestPoster, WebhookPoster } from './posting.ts';
import { SlashCommandServer } from './slash-commands.ts';

export const MATTERMOST_PACK_VERSION = '0.1.0';

export const MATTERMOST_EVENTS = {
  ReceivedMessage: {
    description:
      'A post in a channel the bot is in (bot mode): {channelId, user{id,name}, message, timestamp (the post id), threadTimestamp (the root post id), postId}.',
  },
  SlashCommandReceived: {
    description:
      'A slash command or outgoing webhook: {command, text, channelId, channelName, userId, userName, teamId, responseUrl}. Answer with RespondToCommand.',
  },
};

/**
 * The Mattermost pack, in up to three modes at once: a bot account (REST and WebSocket), an incoming webhook
 * (posting only), and slash commands / outgoing webhooks served over HTTP.
 */
export async function createMattermostPack(config: MattermostConfig): Promise<PackDefinition> {
  // Mattermost limits requests per user, not per channel; the lanes are for order, the 429s are waited out.
  const pacer = new ChannelPacer({ burst: 100, perSecond: 100 });
  const deps: MattermostCommandDeps = {};
  let listener: MattermostListener | undefined;
  let commandServer: SlashCommandServer | undefined;

  return definePack({
    name: 'mattermost',
    version: MATTERMOST_PACK_VERSION,
    description: 'Mattermost: bot account, incoming webhook and slash commands.',
    commands: mattermostCommands(deps),
    events: MATTERMOST_EVENTS,
    async start(context) {
      let poster: Poster | undefined;
      if (config.bot) {
        const client = createMattermostClient(config.bot.url, config.bot.token);
        const me = await client.getMe().catch((error: unknown) => {
          if (error instanceof MattermostHttpError && error.status === 401)
            throw new Error(
              'MATTERMOST_TOKEN: Mattermost refused the token (401); it was revoked or is mistyped',
            );
          throw new Error(
            `MATTERMOST_URL: cannot reach Mattermost (${mattermostFailure(error, 'users/me').message})`,
          );
        });
        const channels = new Channels(client);
        deps.account = { client, botUserId: me.id, channels };
        poster = new RestPoster({ client, botUserId: me.id, channels, pacer });
        listener = new MattermostListener({ client, botUserId: me.id, context });
        await listener.start(config.bot.url, config.bot.token);
        context.logger.info({ bot: me.username }, 'connected to Mattermost as a bot account');
      } else if (config.webhookUrl) {
        poster = new WebhookPoster({ url: config.webhookUrl, pacer });
        context.logger.info('posting to Mattermost through an incoming webhook');
      }
      deps.poster = poster;
      if (config.commands) {
        commandServer = new SlashCommandServer({
          ...config.commands,
          emit: context.emit,
          logger: context.logger,
          poster,
        });
        deps.responder = commandServer;
        const url = await commandServer.start();
        context.logger.info(
          { url: `${url}/mattermost/command` },
          'serving Mattermost slash commands and outgoing webhooks',
        );
      }
    },
    async stop() {
      listener?.stop();
      await commandServer?.stop();
    },
  });
}
