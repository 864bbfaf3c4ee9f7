import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type App, HTTPReceiver, type Receiver } from '@slack/bolt';
import type { Logger } from 'pino';
import { boltLogger } from './bolt-logger.ts';

/** Slack's window for a request's timestamp, in either direction (replays and skewed clocks). */
const MAX_SKEW_SECONDS = 5 * 60;
export const SLACK_EVENTS_PATH = '/slack/events';

export interface HttpEventsReceiverOptions {
  signingSecret: string;
  port: number;
  /** Default: all interfaces. */
  host?: string | undefined;
  logger: Logger;
}

/**
 * The Events API over HTTP, on Bolt's HTTPReceiver: it verifies the signature, answers url_verification
 * and, with processBeforeResponse, answers Slack only after the listeners published the event. A listener
 * that failed makes it answer 500, so Slack sends the event again. This wrapper adds what Bolt leaves
 * out: timestamps too far in the future are refused as well as stale ones, and the server is ours, so
 * `stop` closes it and `url` reports the port it got.
 */
export class HttpEventsReceiver implements Receiver {
  readonly #bolt: HTTPReceiver;
  readonly #options: HttpEventsReceiverOptions;
  #server: Server | undefined;

  constructor(options: HttpEventsReceiverOptions) {
    this.#options = options;
    this.#bolt = new HTTPReceiver({
      signingSecret: options.signingSecret,
      endpoints: [SLACK_EVENTS_PATH],
      processBeforeResponse: true,
      logger: boltLogger(options.logger),
    });
  }

  init(app: App): void {
    this.#bolt.init(app);
  }

  async start(): Promise<Server> {
    const server = createServer((req, res) => this.#handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error) =>
        reject(new Error(`SLACK_HTTP_PORT: cannot listen on port ${this.#options.port}: ${error.message}`)),
      );
      server.listen(this.#options.port, this.#options.host, () => resolve());
    });
    this.#server = server;
    return server;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (!server) return;
    server.closeIdleConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Where Slack should send events, e.g. http://0.0.0.0:3000/slack/events. */
  get url(): string {
    const address = this.#server?.address() as AddressInfo | undefined;
    return `http://${this.#options.host ?? '0.0.0.0'}:${address?.port ?? this.#options.port}${SLACK_EVENTS_PATH}`;
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const timestamp = Number(req.headers['x-slack-request-timestamp']);
    if (Number.isFinite(timestamp) && timestamp - Date.now() / 1000 > MAX_SKEW_SECONDS) {
      this.#options.logger.warn(
        { path: req.url, timestamp },
        'refused a Slack request: its timestamp is more than 5 minutes in the future',
      );
      req.resume();
      res.writeHead(401).end();
      return;
    }
    try {
      this.#bolt.requestListener(req, res);
    } catch {
      // Bolt throws for anything but POST to the events path.
      req.resume();
      if (!res.headersSent) res.writeHead(404, { 'content-type': 'text/plain' });
      res.end(`not found: Slack events go to POST ${SLACK_EVENTS_PATH}\n`);
    }
  }
}
