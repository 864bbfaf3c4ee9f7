import { App, LogLevel } from '@slack/bolt';
import { WebClient } from '@slack/web-api';
import { ChannelPacer } from '../../shared/runtime/channel-pacer.ts';
import { definePack, type PackDefinition } from '../../shared/runtime/pack-definition.ts';
import { ChannelResolver } from './channel-resolver.ts';
import { slackCommands } from './commands.ts';
import { HttpEventsReceiver } from './http-events-receiver.ts';
import { JoinedChannels } from './joined-channels.ts';
import type { SlackConfig } from './slack-config.ts';
import { slackFailure } from './slack-errors.ts';
import { listenToSlack, SLACK_EVENTS } from './slack-events.ts';
import { AckAfterPublishReceiver } from './socket-mode-receiver.ts';
import { UserDirectory } from './user-directory.ts';

export const SLACK_PACK_VERSION = '0.1.0';

/** The Slack pack: flyte-slack's commands and events on Bolt, in Socket Mode or over HTTP. */
export async function createSlackPack(config: SlackConfig): Promise<PackDefinition> {
  const corrupt: string[] = [];
  const joined = await JoinedChannels.open({
    stateDir: config.stateDir,
    onCorrupt: (file, reason) => corrupt.push(`${file}: ${reason}`),
  });
  // Retries and pacing belong to the runtime and the pacer: the SDK must neither wait nor retry on its own.
  const clientOptions = {
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    ...(config.apiUrl ? { slackApiUrl: config.apiUrl } : {}),
  };
  const web = new WebClient(config.botToken, { ...clientOptions, logLevel: LogLevel.ERROR });
  const channels = new ChannelResolver(web);
  let app: App | undefined;

  return definePack({
    name: 'slack',
    version: SLACK_PACK_VERSION,
    description:
      'Slack: messages, rich messages, broadcasts and channels, on Bolt (Socket Mode or HTTP events).',
    commands: slackCommands({ web, pacer: new ChannelPacer(config.pacing), channels, joined }),
    events: SLACK_EVENTS,
    async start(context) {
      for (const report of corrupt)
        context.logger.error({ file: report }, 'channels.json was corrupt and was set aside');
      const bot = await identify(web);
      const receiver =
        config.events.mode === 'socket'
          ? new AckAfterPublishReceiver({
              appToken: config.events.appToken,
              slackApiUrl: config.apiUrl,
              logger: context.logger,
            })
          : new HttpEventsReceiver({
              signingSecret: config.events.signingSecret,
              port: config.events.port,
              logger: context.logger,
            });
      app = new App({ token: config.botToken, receiver, clientOptions, logLevel: LogLevel.ERROR });
      // Rethrown so the receiver does not acknowledge an event that was not published.
      app.error(async (error) => {
        throw error;
      });
      listenToSlack(app, {
        context,
        bot,
        users: new UserDirectory(web, { ttlMs: config.userCacheTtlMs }),
        joined,
      });
      if (config.defaultJoinChannel) {
        const channelId = await channels.resolve(config.defaultJoinChannel);
        await web.conversations.join({ channel: channelId }).catch((error: unknown) => {
          throw new Error(
            `SLACK_DEFAULT_JOIN_CHANNEL: cannot join ${config.defaultJoinChannel}: ${slackFailure(error).message}`,
          );
        });
        await joined.add(channelId);
      }
      await app.start();
      context.logger.info(
        receiver instanceof HttpEventsReceiver
          ? { botUserId: bot.userId, joined: joined.list(), eventsUrl: receiver.url }
          : { botUserId: bot.userId, joined: joined.list() },
        receiver instanceof HttpEventsReceiver
          ? 'connected to Slack; receiving events over HTTP'
          : 'connected to Slack in Socket Mode',
      );
    },
    async stop() {
      await app?.stop();
    },
  });
}

/** auth.test: who the bot is; a refused token stops the pack with a message naming the variable. */
async function identify(web: WebClient): Promise<{ userId: string; botId: string | undefined }> {
  try {
    const answer = await web.auth.test();
    return { userId: answer.user_id as string, botId: answer.bot_id };
  } catch (error) {
    throw new Error(`SLACK_BOT_TOKEN: Slack refused the token (${slackFailure(error).message})`);
  }
}
