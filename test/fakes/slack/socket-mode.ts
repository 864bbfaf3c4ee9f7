// Socket Mode (https://docs.slack.dev/apis/events-api/using-socket-mode): apps.connections.open hands
// out a one-time URL; on connect the server sends {"type":"hello"}, then envelopes the client must ack
// by sending back {envelope_id, payload?}. {"type":"disconnect"} asks the client to reconnect.

import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import type { BotIdentity } from './state.ts';

export const SOCKET_PATH = '/socket';
const CLOSE_TIMEOUT_MS = 1000;

export interface SocketModeOptions {
  readonly bot: BotIdentity;
  /** Wraps an event in its event_callback payload (envelope.ts). */
  readonly eventCallback: (event: Record<string, unknown>) => Record<string, unknown>;
  /** Base URL the socket URLs are built on, e.g. ws://127.0.0.1:PORT. */
  readonly baseUrl: () => string;
  /** How long sendEvent waits for a connection and its ack. */
  readonly ackTimeoutMs: number;
  /** Interval of server pings; the SDK drops a connection that goes 30 s without one. */
  readonly pingIntervalMs: number;
}

export interface SendEventOptions {
  /** Default: the fake's ack timeout (3000 ms, Slack's own ack deadline). */
  readonly timeoutMs?: number;
  /** Sets `retry_attempt` and `retry_reason`, as on Slack's redeliveries. Default 0 / "". */
  readonly retryAttempt?: number;
  readonly retryReason?: string;
  /** The event_id to send, e.g. an earlier envelope's, as Slack's resends keep it. Default: a new one. */
  readonly eventId?: string;
}

/** What the client sent back for an envelope. */
export interface Ack {
  readonly envelope_id: string;
  readonly payload?: unknown;
}

interface Pending {
  readonly resolve: (ack: Ack) => void;
  readonly reject: (error: Error) => void;
}

export class SocketMode {
  /** Every envelope sent, in order. */
  readonly envelopes: Record<string, unknown>[] = [];
  readonly #options: SocketModeOptions;
  readonly #wss = new WebSocketServer({ noServer: true });
  readonly #tickets = new Set<string>();
  readonly #sockets = new Set<WebSocket>();
  /** Told to disconnect: no more envelopes go to them. */
  readonly #draining = new WeakSet<WebSocket>();
  readonly #pending = new Map<string, Pending>();
  readonly #connectWaiters = new Set<() => void>();
  #next = 0;
  #closed = false;

  constructor(options: SocketModeOptions) {
    this.#options = options;
  }

  /** A fresh single-use URL, as apps.connections.open returns. */
  issueUrl(): string {
    const ticket = randomUUID();
    this.#tickets.add(ticket);
    return `${this.#options.baseUrl()}${SOCKET_PATH}?ticket=${ticket}&app_id=${this.#options.bot.appId}`;
  }

  /** Open Socket Mode connections. */
  get connections(): number {
    return this.#sockets.size;
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'ws://fake-slack');
    const ticket = url.searchParams.get('ticket') ?? '';
    if (url.pathname !== SOCKET_PATH || !this.#tickets.delete(ticket)) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#accept(ws));
  }

  #accept(ws: WebSocket): void {
    this.#sockets.add(ws);
    const ping = setInterval(() => ws.ping(), this.#options.pingIntervalMs);
    ping.unref();
    ws.on('close', () => {
      clearInterval(ping);
      this.#sockets.delete(ws);
    });
    ws.on('error', () => ws.terminate());
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      let message: unknown;
      try {
        message = JSON.parse(data.toString());
      } catch {
        return;
      }
      const envelopeId = (message as { envelope_id?: unknown } | null)?.envelope_id;
      if (typeof envelopeId !== 'string') return;
      const pending = this.#pending.get(envelopeId);
      this.#pending.delete(envelopeId);
      pending?.resolve(message as Ack);
    });
    ws.send(
      JSON.stringify({
        type: 'hello',
        num_connections: this.#sockets.size,
        debug_info: { host: 'fake-slack', build_number: 1, approximate_connection_time: 18060 },
        connection_info: { app_id: this.#options.bot.appId },
      }),
    );
    for (const wake of this.#connectWaiters) wake();
    this.#connectWaiters.clear();
  }

  /**
   * Delivers an Events API envelope to one open connection (Slack picks one when an app has several),
   * waiting up to the timeout for a connection if none is open, and resolves with the client's ack.
   */
  async sendEvent(event: Record<string, unknown>, options: SendEventOptions = {}): Promise<Ack> {
    const timeoutMs = options.timeoutMs ?? this.#options.ackTimeoutMs;
    const deadline = Date.now() + timeoutMs;
    const envelopeId = randomUUID();
    const envelope = {
      envelope_id: envelopeId,
      type: 'events_api',
      accepts_response_payload: false,
      retry_attempt: options.retryAttempt ?? 0,
      retry_reason: options.retryReason ?? '',
      payload: {
        ...this.#options.eventCallback(event),
        ...(options.eventId ? { event_id: options.eventId } : {}),
      },
    };
    const socket = await this.#anySocket(deadline);
    if (!socket) throw new Error(`fake Slack: no Socket Mode connection within ${timeoutMs} ms`);
    this.envelopes.push(envelope);
    return new Promise<Ack>((resolve, reject) => {
      const timer = setTimeout(
        () => {
          this.#pending.delete(envelopeId);
          reject(new Error(`fake Slack: envelope ${envelopeId} not acked within ${timeoutMs} ms`));
        },
        Math.max(0, deadline - Date.now()),
      );
      this.#pending.set(envelopeId, {
        resolve: (ack) => {
          clearTimeout(timer);
          resolve(ack);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      socket.send(JSON.stringify(envelope));
    });
  }

  async #anySocket(deadline: number): Promise<WebSocket | undefined> {
    while (!this.#closed) {
      const open = [...this.#sockets].filter((s) => s.readyState === s.OPEN && !this.#draining.has(s));
      if (open.length > 0) return open[this.#next++ % open.length];
      const wait = deadline - Date.now();
      if (wait <= 0) return undefined;
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          this.#connectWaiters.delete(wake);
          resolve();
        }, wait);
        this.#connectWaiters.add(wake);
      });
    }
    return undefined;
  }

  /** Asks every connected client to reconnect, as Slack does before recycling a server. */
  disconnect(reason = 'refresh_requested'): void {
    const message = JSON.stringify({ type: 'disconnect', reason, debug_info: { host: 'fake-slack' } });
    for (const socket of this.#sockets) {
      this.#draining.add(socket);
      socket.send(message);
    }
  }

  /** Drops every connection without a close handshake (a network failure). */
  dropConnections(): void {
    for (const socket of this.#sockets) socket.terminate();
  }

  /**
   * Closes every connection with a close frame (1001 "going away"), terminating those that do not finish
   * the handshake in time. Graceful on purpose: a client cut off in the middle of its own close handshake
   * makes @slack/socket-mode keep a 30 s timer alive (it arms the handshake timeout twice).
   */
  async close(): Promise<void> {
    this.#closed = true;
    for (const pending of this.#pending.values()) pending.reject(new Error('fake Slack closed'));
    this.#pending.clear();
    for (const wake of this.#connectWaiters) wake();
    this.#connectWaiters.clear();
    await Promise.all(
      [...this.#sockets].map(
        (socket) =>
          new Promise<void>((resolve) => {
            if (socket.readyState === socket.CLOSED) return resolve();
            const timer = setTimeout(() => socket.terminate(), CLOSE_TIMEOUT_MS);
            socket.once('close', () => {
              clearTimeout(timer);
              resolve();
            });
            socket.close(1001, 'going away');
          }),
      ),
    );
    this.#wss.close();
  }
}
