import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { EmitOptions, Payload } from '../../shared/runtime/pack-definition.ts';
import { type DeliveryLedger, PublishTimedOut } from './delivery-ledger.ts';
import { readLimitedBody } from './request-body.ts';
import type { InterpretedEvent, WebhookSource } from './webhook-source.ts';

/** How a request ended: the `outcome` label of the requests counter and the log's `outcome` field. */
export type RequestOutcome =
  | 'accepted'
  | 'duplicate'
  | 'ignored'
  | 'unknown_source'
  | 'method_not_allowed'
  | 'not_configured'
  | 'too_large'
  | 'unauthorized'
  | 'invalid_json'
  | 'invalid_payload'
  | 'unsupported_media_type'
  | 'preflight'
  | 'unavailable';

/** What the server counts with; a prom-client Counter with labels `source` and `outcome` fits. */
export interface RequestCounter {
  inc(labels: { source: string; outcome: RequestOutcome }): void;
}

export interface WebhookServerOptions {
  host: string;
  port: number;
  maxBodyBytes: number;
  /** How long a delivery waits for the broker before the sender is told 503. */
  publishTimeoutMs: number;
  /** By URL path after /webhooks/: `jobserv`, `github`, `gitlab`, `generic/<name>`. */
  sources: ReadonlyMap<string, WebhookSource>;
  ledger: DeliveryLedger;
  /** Resolves once the broker has the event (PackContext.emit). */
  emit: (name: string, payload: Payload, options?: EmitOptions) => Promise<void>;
  logger: Logger;
  requests: RequestCounter;
  now?: () => number;
  /** Paths besides /webhooks/ served on the same port (the command API's /v1/commands/). Default: none. */
  routes?: readonly HttpRoute[];
}

/** A handler for every request whose path starts with `prefix`; it answers, logs and counts on its own. */
export interface HttpRoute {
  prefix: string;
  handle(request: IncomingMessage, response: ServerResponse): Promise<void>;
}

export interface WebhookServer {
  /** `http://host:port`, with the port actually bound. */
  readonly url: string;
  close(): Promise<void>;
}

const PREFIX = '/webhooks/';

type Answer = {
  status: number;
  outcome: RequestOutcome;
  /** Told to the sender. */
  message: string;
  /** Logged instead of the message when the sender should not see it (our own infrastructure's errors). */
  reason?: string;
  fields?: Record<string, unknown>;
  headers?: Record<string, string>;
};

/**
 * Serves POST /webhooks/<source>. Checks run in this order, and each refusal emits nothing:
 * unknown source 404, no secret configured 403, body over the limit 413 (unread past the limit),
 * missing or wrong signature 401, not JSON 400. Then a delivery seen before gets 200, an event confirmed
 * by the broker 202, and a broker that fails or is too slow 503, so that the CI sends it again.
 */
export async function startWebhookServer(options: WebhookServerOptions): Promise<WebhookServer> {
  const { logger, requests } = options;
  const now = options.now ?? Date.now;

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    const route = options.routes?.find((candidate) => path.startsWith(candidate.prefix));
    if (route) {
      await route.handle(request, response);
      return;
    }
    const sourceName = path.startsWith(PREFIX) ? path.slice(PREFIX.length).replace(/\/$/, '') : undefined;
    const source = sourceName === undefined ? undefined : options.sources.get(sourceName);
    const label = source?.name ?? 'unknown';
    const answer = await decide(request, source);
    requests.inc({ source: label, outcome: answer.outcome });
    const fields = { source: label, status: answer.status, outcome: answer.outcome, ...answer.fields };
    const reason = answer.reason ?? answer.message;
    if (answer.status >= 500)
      logger.error({ ...fields, reason }, 'webhook not taken: the sender should retry');
    else if (answer.status >= 400) logger.warn({ ...fields, reason }, 'webhook refused');
    else logger.info(fields, answer.message);
    const body = `${JSON.stringify({ outcome: answer.outcome, message: answer.message })}\n`;
    const headers: Record<string, string> = { 'content-type': 'application/json', ...answer.headers };
    if (answer.status === 405) headers.allow = source?.preflight ? 'POST, OPTIONS' : 'POST';
    if (answer.status === 413) headers.connection = 'close';
    response.writeHead(answer.status, headers).end(body);
    if (answer.status === 413) {
      // The rest of the body was never read: drop the connection rather than drain it.
      response.once('finish', () => request.destroy());
    }
  }

  async function decide(request: IncomingMessage, source: WebhookSource | undefined): Promise<Answer> {
    if (!source) {
      return {
        status: 404,
        outcome: 'unknown_source',
        // Names no generic source: which exist is not the business of whoever is probing.
        message: `no webhook source at ${request.url?.split('?')[0]}; POST to /webhooks/jobserv, /webhooks/github, /webhooks/gitlab, /webhooks/cloudevents, /webhooks/alertmanager or /webhooks/generic/<name>, or a command to /v1/commands/<pack>/<Command>`,
      };
    }
    if (request.method === 'OPTIONS' && source.preflight) {
      const preflight = source.preflight(request.headers);
      return {
        status: preflight.status,
        outcome: 'preflight',
        message: preflight.message,
        headers: preflight.headers,
      };
    }
    if (request.method !== 'POST') {
      return { status: 405, outcome: 'method_not_allowed', message: 'webhooks are POSTed' };
    }
    if (source.notConfigured)
      return { status: 403, outcome: 'not_configured', message: source.notConfigured };
    const body = await readLimitedBody(request, options.maxBodyBytes);
    if (body === 'too_large') {
      return {
        status: 413,
        outcome: 'too_large',
        message: `the body is larger than ${options.maxBodyBytes} bytes (CI_WEBHOOK_MAX_BODY_BYTES)`,
      };
    }
    const url = new URL(request.url ?? '/', 'http://webhooks');
    const verification = source.verify(request.headers, body, now(), url);
    if (!verification.ok) return { status: 401, outcome: 'unauthorized', message: verification.reason };
    let payload: unknown;
    if (!source.rawBody) {
      try {
        payload = JSON.parse(body.toString('utf8'));
      } catch (error) {
        return {
          status: 400,
          outcome: 'invalid_json',
          message: `the body is not JSON (${(error as Error).message}); send the webhook as application/json`,
        };
      }
    }
    const meaning = source.interpret(request.headers, payload, body);
    if (meaning.kind === 'invalid') {
      return meaning.status === 415
        ? { status: 415, outcome: 'unsupported_media_type', message: meaning.reason }
        : { status: 400, outcome: 'invalid_payload', message: meaning.reason };
    }
    if (meaning.kind === 'ignored') return { status: 200, outcome: 'ignored', message: meaning.reason };
    const events = meaning.kind === 'event' ? [meaning] : meaning.events;
    const keys = events.map(({ deliveryKey }) =>
      deliveryKey === undefined ? undefined : `${source.name}:${deliveryKey}`,
    );
    const fields = {
      event: [...new Set(events.map(({ event }) => event))].join(','),
      ...(keys.some(Boolean) ? { delivery: keys.filter(Boolean).join(',') } : {}),
      ...(events.length > 1 ? { events: events.length } : {}),
    };
    try {
      const outcomes = await deliverAll(events, keys);
      const emitted = events.filter((_, index) => outcomes[index] !== 'duplicate').map(({ event }) => event);
      return emitted.length === 0
        ? { status: 200, outcome: 'duplicate', message: 'delivery seen before: nothing new emitted', fields }
        : { status: 202, outcome: 'accepted', message: `${emitted.join(', ')} emitted`, fields };
    } catch (error) {
      const timedOut = error instanceof PublishTimedOut;
      return {
        status: 503,
        outcome: 'unavailable',
        message: timedOut
          ? 'the event bus did not confirm the event in time; send it again'
          : 'the event bus is unavailable; send it again',
        reason: timedOut ? (error as Error).message : `publish failed: ${(error as Error).message}`,
        fields,
      };
    }
  }

  /**
   * In order, each through the ledger: should one publish fail, the sender's retry emits only what did
   * not get out (the others answer as duplicates of their key).
   */
  async function deliverAll(events: InterpretedEvent[], keys: Array<string | undefined>) {
    const outcomes: string[] = [];
    for (const [index, { event, payload }] of events.entries()) {
      const key = keys[index];
      outcomes.push(
        await options.ledger.deliver(
          key,
          // The same key gives the same event id, so consumers see one event even if it is published twice.
          () => options.emit(event, payload, key ? { dedupeKey: key } : {}),
          options.publishTimeoutMs,
        ),
      );
    }
    return outcomes;
  }

  const server: Server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      // A client that hung up mid-body; nobody is left to answer.
      logger.debug({ reason: (error as Error).message }, 'webhook request aborted');
      if (!response.headersSent) response.destroy();
    });
  });
  // A sender that trickles its body must not hold a connection for long.
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        // Deliveries under way finish (bounded by the publish deadline); idle keep-alive sockets go now.
        const force = setTimeout(() => server.closeAllConnections(), options.publishTimeoutMs + 1000);
        server.close(() => {
          clearTimeout(force);
          resolve();
        });
        server.closeIdleConnections();
      }),
  };
}
