// The WebSocket API at /api/v4/websocket, as server/channels/app/platform (web_conn.go, web_hub.go,
// websocket_router.go) serves it:
// - A client without a token on the upgrade request (a browser, or Node's global WebSocket as
//   @mattermost/client uses it) sends {"seq":1,"action":"authentication_challenge","data":{"token":...}};
//   the server sends `hello` and answers {"status":"OK","seq_reply":1}. A bad token closes the socket; no
//   challenge within 5 s closes it too.
// - Every event to a connection carries `seq`, 0 for hello and then exactly one more each time; the official
//   client closes with 4001 and reconnects on any gap. Answers to client actions carry `seq_reply` instead.
// - Reconnects send connection_id and sequence_number. The server resumes a connection (replaying what the
//   client missed, without a new hello) only when the upgrade request itself carries a valid token (header,
//   MMAUTHTOKEN cookie or access_token) and still knows the connection; otherwise the client gets a fresh
//   connection id and hello with seq 0, which @mattermost/client reports to its missed-message listeners.

import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import { tokenOf } from './api.ts';
import { newId } from './ids.ts';

const WEBSOCKET_PATH = /^\/api\/v4\/websocket\/?$/;
/** How many sent events a connection keeps for a resume (deadQueueSize in web_conn.go). */
const DEAD_QUEUE_SIZE = 128;
const CLOSE_TIMEOUT_MS = 1000;
/** Actions the server answers with a plain OK; the fake keeps no presence or typing state. */
const OK_ACTIONS = new Set([
  'user_typing',
  'presence',
  'get_statuses',
  'get_statuses_by_ids',
  'user_update_active_status',
  'posted_notify_ack',
]);

export interface Broadcast {
  readonly omit_users: Record<string, boolean> | null;
  readonly user_id: string;
  readonly channel_id: string;
  readonly team_id: string;
  readonly connection_id: string;
  readonly omit_connection_id: string;
}

/** A server event before its per-connection `seq`. */
export interface WsEvent {
  readonly event: string;
  readonly data: Record<string, unknown>;
  readonly broadcast: Broadcast;
}

/** An event the hub handed out, with the users it went to (hello not included). */
export interface BroadcastRecord extends WsEvent {
  readonly recipients: readonly string[];
}

export interface WebSocketHubOptions {
  /** The user behind a token, if the token is valid. */
  readonly session: (token: string) => string | undefined;
  readonly serverVersion: string;
  /** How long an unauthenticated connection may stay open. */
  readonly authTimeoutMs: number;
  /** Wall clock in milliseconds, for server_time in ping answers. */
  readonly clock: () => number;
}

interface Conn {
  connectionId: string;
  userId: string | undefined;
  /** Undefined while disconnected (a resumable connection keeps collecting events meanwhile). */
  socket: WebSocket | undefined;
  nextSeq: number;
  /** The last DEAD_QUEUE_SIZE events sent, oldest first, as they went out. */
  sent: { readonly seq: number; readonly text: string }[];
  authTimer: NodeJS.Timeout | undefined;
}

export function broadcastTo(fields: Partial<Broadcast>): Broadcast {
  return {
    omit_users: null,
    user_id: '',
    channel_id: '',
    team_id: '',
    connection_id: '',
    omit_connection_id: '',
    ...fields,
  };
}

export class WebSocketHub {
  readonly events: BroadcastRecord[] = [];
  readonly #options: WebSocketHubOptions;
  readonly #wss = new WebSocketServer({ noServer: true });
  /** Every connection, open or resumable, by connection id. */
  readonly #conns = new Map<string, Conn>();
  #pingReplies = true;
  #closed = false;

  constructor(options: WebSocketHubOptions) {
    this.#options = options;
  }

  /** Open, authenticated connections. */
  get connections(): number {
    return [...this.#conns.values()].filter((conn) => conn.socket && conn.userId).length;
  }

  /** Takes an HTTP upgrade; anything but /api/v4/websocket gets 404. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://fake-mattermost');
    if (this.#closed || !WEBSOCKET_PATH.test(url.pathname)) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const token = tokenOf(req, url);
    const userId = token === undefined ? undefined : this.#options.session(token);
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#accept(ws, userId, url.searchParams));
  }

  /** Sends `event` to every connection of the users `to` accepts, resumable ones included. */
  broadcast(event: WsEvent, to: (userId: string) => boolean): void {
    const recipients = new Set<string>();
    for (const conn of this.#conns.values()) {
      if (conn.userId === undefined || !to(conn.userId)) continue;
      recipients.add(conn.userId);
      this.#deliver(conn, event);
    }
    this.events.push({ ...event, recipients: [...recipients] });
  }

  /** Cuts every open connection without a close frame (a network failure); they stay resumable. */
  dropConnections(): void {
    for (const conn of this.#conns.values()) conn.socket?.terminate();
  }

  /**
   * Makes the next event to every authenticated connection skip one sequence number, as if one were lost.
   * The official client then closes with 4001 and reconnects; a resume cannot replay a number never sent,
   * so it gets a fresh connection and hello.
   */
  skipSequence(): void {
    for (const conn of this.#conns.values()) if (conn.userId !== undefined) conn.nextSeq += 1;
  }

  /** Forgets disconnected connections, as a server restart does: no reconnect can resume them. */
  forgetConnections(): void {
    for (const [id, conn] of this.#conns) if (!conn.socket) this.#conns.delete(id);
  }

  /** Whether `ping` actions get their answer. Default true; false makes the client's ping check fail. */
  setPingReplies(enabled: boolean): void {
    this.#pingReplies = enabled;
  }

  /**
   * Closes every connection with a close frame (1001 "going away"), terminating those that do not finish
   * the handshake in time.
   */
  async close(): Promise<void> {
    this.#closed = true;
    const sockets = [...this.#conns.values()].flatMap((conn) => {
      clearTimeout(conn.authTimer);
      return conn.socket ? [conn.socket] : [];
    });
    this.#conns.clear();
    await Promise.all(
      sockets.map(
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

  #accept(ws: WebSocket, userId: string | undefined, query: URLSearchParams): void {
    const conn = this.#attach(ws, userId, query);
    if (!conn) return;
    ws.on('error', () => ws.terminate());
    ws.on('close', () => {
      clearTimeout(conn.authTimer);
      if (conn.socket !== ws) return;
      conn.socket = undefined;
      // Only an authenticated connection can be resumed.
      if (conn.userId === undefined) this.#conns.delete(conn.connectionId);
    });
    ws.on('message', (data, isBinary) => {
      if (!isBinary) this.#onMessage(conn, ws, data.toString());
    });
  }

  /** The connection this socket serves: a resumed one, or a fresh one (hello sent when authenticated). */
  #attach(ws: WebSocket, userId: string | undefined, query: URLSearchParams): Conn | undefined {
    const wanted = query.get('connection_id') ?? '';
    const known = userId !== undefined && wanted !== '' ? this.#conns.get(wanted) : undefined;
    if (known && known.userId === userId && !known.socket) {
      const seq = Number(query.get('sequence_number') ?? '');
      if (!Number.isInteger(seq) || seq < 0) {
        // The server refuses a connection id without a usable sequence number.
        ws.terminate();
        return undefined;
      }
      known.socket = ws;
      this.#resume(known, seq);
      return known;
    }
    const conn: Conn = {
      connectionId: newId(),
      userId,
      socket: ws,
      nextSeq: 0,
      sent: [],
      authTimer: undefined,
    };
    this.#conns.set(conn.connectionId, conn);
    if (userId !== undefined) this.#deliver(conn, this.#hello(conn));
    else {
      conn.authTimer = setTimeout(() => ws.terminate(), this.#options.authTimeoutMs);
      conn.authTimer.unref();
    }
    return conn;
  }

  #resume(conn: Conn, seq: number): void {
    if (seq === conn.nextSeq) return; // nothing missed
    const from = conn.sent.findIndex((entry) => entry.seq === seq);
    if (from >= 0) {
      for (const entry of conn.sent.slice(from)) conn.socket?.send(entry.text);
      return;
    }
    // The wanted event is gone (or never existed): start over under a new id, as web_conn.go does.
    this.#conns.delete(conn.connectionId);
    conn.connectionId = newId();
    this.#conns.set(conn.connectionId, conn);
    conn.nextSeq = 0;
    conn.sent = [];
    this.#deliver(conn, this.#hello(conn));
  }

  #onMessage(conn: Conn, ws: WebSocket, text: string): void {
    let request: { action?: unknown; seq?: unknown; data?: unknown };
    try {
      request = JSON.parse(text);
    } catch {
      ws.terminate(); // the server closes a connection that sends something it cannot decode
      return;
    }
    const action = typeof request.action === 'string' ? request.action : '';
    const seq = typeof request.seq === 'number' ? request.seq : 0;
    if (action === 'authentication_challenge' && seq > 0) this.#authenticate(conn, ws, seq, request.data);
    else {
      const answer = this.#answer(conn, action, seq);
      if (answer) reply(ws, answer);
    }
  }

  /** websocket_router.go ServeWebSocket for everything but the challenge; undefined sends nothing. */
  #answer(conn: Conn, action: string, seq: number): Record<string, unknown> | undefined {
    if (action === '')
      return failure(seq, 400, 'api.web_socket_router.no_action.app_error', 'No websocket action.');
    if (seq <= 0)
      return failure(
        seq,
        400,
        'api.web_socket_router.bad_seq.app_error',
        'Invalid sequence for WebSocket message.',
      );
    if (conn.userId === undefined)
      return failure(
        seq,
        401,
        'api.web_socket_router.not_authenticated.app_error',
        'Could not authenticate WebSocket connection.',
      );
    if (action === 'ping') {
      if (!this.#pingReplies) return undefined;
      const data = {
        text: 'pong',
        version: this.#options.serverVersion,
        server_time: this.#options.clock(),
        node_id: '',
      };
      return { status: 'OK', seq_reply: seq, data };
    }
    if (OK_ACTIONS.has(action)) return { status: 'OK', seq_reply: seq };
    return failure(seq, 500, 'api.web_socket_router.bad_action.app_error', 'Unknown WebSocket action.');
  }

  #authenticate(conn: Conn, ws: WebSocket, seq: number, data: unknown): void {
    if (conn.userId !== undefined) return; // already authenticated: the server ignores it, without an answer
    const token = (data as { token?: unknown } | null)?.token;
    const userId = typeof token === 'string' ? this.#options.session(token) : undefined;
    if (userId === undefined) {
      ws.terminate();
      return;
    }
    clearTimeout(conn.authTimer);
    conn.userId = userId;
    this.#deliver(conn, this.#hello(conn));
    reply(ws, { status: 'OK', seq_reply: seq });
  }

  #hello(conn: Conn): WsEvent {
    return {
      event: 'hello',
      data: {
        server_version: `${this.#options.serverVersion}.0.fake.false`,
        connection_id: conn.connectionId,
        server_hostname: 'fake-mattermost',
      },
      broadcast: broadcastTo({ user_id: conn.userId ?? '' }),
    };
  }

  #deliver(conn: Conn, event: WsEvent): void {
    const seq = conn.nextSeq;
    conn.nextSeq += 1;
    const text = JSON.stringify({ event: event.event, data: event.data, broadcast: event.broadcast, seq });
    conn.sent.push({ seq, text });
    if (conn.sent.length > DEAD_QUEUE_SIZE) conn.sent.shift();
    const socket = conn.socket;
    if (socket && socket.readyState === socket.OPEN) socket.send(text);
  }
}

/** A `FAIL` answer with the AppError, as returnWebSocketError sends it. */
function failure(seq: number, status: number, id: string, message: string): Record<string, unknown> {
  return {
    status: 'FAIL',
    seq_reply: seq,
    error: { id, message, detailed_error: '', request_id: '', status_code: status },
  };
}

function reply(ws: WebSocket, message: Record<string, unknown>): void {
  if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(message));
}
