import type { App, Receiver } from '@slack/bolt';
import { SocketModeClient } from '@slack/socket-mode';
import type { Logger } from 'pino';
import { boltLogger } from './bolt-logger.ts';
import { slackFailure } from './slack-errors.ts';

/**
 * Bolt's transport for Socket Mode, changed in one respect: an event is acknowledged to Slack only after
 * Bolt's listeners finished, that is after the pack published it on the bus. Bolt's own receiver acks
 * first, and an event then lost (bus down, crash) would never be sent again. When a listener fails the
 * event is not acknowledged, so Slack delivers it again.
 */
export class AckAfterPublishReceiver implements Receiver {
  readonly #client: SocketModeClient;
  readonly #logger: Logger;
  #app: App | undefined;

  constructor(options: { appToken: string; slackApiUrl?: string | undefined; logger: Logger }) {
    this.#logger = options.logger;
    this.#client = new SocketModeClient({
      appToken: options.appToken,
      logger: boltLogger(options.logger),
      // The client's own retryConfig (100 tries) stays: a reconnect that gives up on a network error
      // would leave the pack deaf. A refused token is not retried, so start still fails fast.
      clientOptions: options.slackApiUrl ? { slackApiUrl: options.slackApiUrl } : {},
    });
    this.#client.on('slack_event', async ({ ack, body, retry_num, retry_reason }) => {
      try {
        // The App's errorHandler rethrows, so a listener that failed to publish lands here.
        await this.#app?.processEvent({
          body,
          retryNum: retry_num,
          retryReason: retry_reason,
          // Bolt acks events before its listeners run; ours is sent below, once they are done.
          ack: async () => {},
        });
      } catch (error) {
        this.#logger.warn(
          { eventType: body?.event?.type, reason: (error as Error).message },
          'a Slack event was not published; Slack will send it again',
        );
        return;
      }
      await ack();
    });
  }

  init(app: App): void {
    this.#app = app;
  }

  async start(): Promise<void> {
    try {
      await this.#client.start();
    } catch (error) {
      throw new Error(
        `SLACK_APP_TOKEN: cannot open a Socket Mode connection (${slackFailure(error).message})`,
      );
    }
  }

  async stop(): Promise<void> {
    await this.#client.disconnect();
  }
}
