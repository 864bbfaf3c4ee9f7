import type { Channel, ConfirmChannel, RecoveringChannelModel } from 'amqplib';
import type { Logger } from 'pino';

const REOPEN_DELAY_MS = 500;

/**
 * Keeps one channel open on a recovering connection: when the channel closes (its connection dropped,
 * or the broker closed it over an error) a new one is opened, `setup` runs on it again, and `onOpen`
 * hands it to the owner. This is where topology is re-declared after every reconnect.
 */
export class ChannelKeeper<C extends Channel> {
  readonly #connection: RecoveringChannelModel;
  readonly #open: (connection: RecoveringChannelModel) => Promise<C>;
  readonly #setup: (channel: C) => Promise<void>;
  readonly #onOpen: (channel: C) => void;
  readonly #onClose: () => void;
  readonly #logger: Logger;
  #channel: C | undefined;
  #closed = false;

  constructor(options: {
    connection: RecoveringChannelModel;
    open: (connection: RecoveringChannelModel) => Promise<C>;
    setup: (channel: C) => Promise<void>;
    onOpen: (channel: C) => void;
    onClose: () => void;
    logger: Logger;
  }) {
    this.#connection = options.connection;
    this.#open = options.open;
    this.#setup = options.setup;
    this.#onOpen = options.onOpen;
    this.#onClose = options.onClose;
    this.#logger = options.logger;
  }

  static confirm(
    options: Omit<ConstructorParameters<typeof ChannelKeeper<ConfirmChannel>>[0], 'open'>,
  ): ChannelKeeper<ConfirmChannel> {
    return new ChannelKeeper<ConfirmChannel>({
      ...options,
      open: (connection) => connection.createConfirmChannel(),
    });
  }

  static plain(
    options: Omit<ConstructorParameters<typeof ChannelKeeper<Channel>>[0], 'open'>,
  ): ChannelKeeper<Channel> {
    return new ChannelKeeper<Channel>({ ...options, open: (connection) => connection.createChannel() });
  }

  get channel(): C | undefined {
    return this.#channel;
  }

  /** Opens the first channel; resolves once it is set up. Later reopens happen in the background. */
  async start(): Promise<void> {
    await this.#openOnce();
  }

  async close(): Promise<void> {
    this.#closed = true;
    const channel = this.#channel;
    this.#channel = undefined;
    if (channel) await channel.close().catch(() => {});
  }

  // close() may come at any point of this: while the connection is down (#open waits for it), or during
  // setup. A channel it finishes opening afterwards is closed without being handed to the owner.
  async #openOnce(): Promise<void> {
    const channel = await this.#open(this.#connection);
    if (this.#closed) {
      await channel.close().catch(() => {});
      return;
    }
    channel.on('error', (error: Error) =>
      this.#logger.warn({ reason: error.message }, 'RabbitMQ closed a channel'),
    );
    channel.on('close', () => {
      // A channel that dies during setup is the caller's failure to retry; only a live one reopens here.
      if (this.#channel !== channel) return;
      this.#channel = undefined;
      this.#onClose();
      if (!this.#closed) void this.#reopen();
    });
    try {
      await this.#setup(channel);
    } catch (error) {
      await channel.close().catch(() => {});
      throw error;
    }
    if (this.#closed) {
      await channel.close().catch(() => {});
      return;
    }
    this.#channel = channel;
    this.#onOpen(channel);
  }

  async #reopen(): Promise<void> {
    while (!this.#closed) {
      await new Promise((resolve) => setTimeout(resolve, REOPEN_DELAY_MS));
      if (this.#closed) return;
      try {
        await this.#openOnce();
        return;
      } catch (error) {
        this.#logger.warn(
          { reason: (error as Error).message },
          'could not reopen a RabbitMQ channel, retrying',
        );
      }
    }
  }
}
