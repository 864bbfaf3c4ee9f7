import type { ServerResponse } from 'node:http';

export interface SseStreamOptions {
  /** A comment line this often, so proxies and browsers keep an idle stream open. Default (Live): 15 s. */
  heartbeatMs: number;
  /**
   * What may wait for a client that reads slower than messages come, on top of the socket's own buffer;
   * past it messages are dropped and counted, so a slow client never grows the console's memory.
   */
  maxQueuedBytes: number;
}

/** How long a browser waits before reconnecting after the stream broke (the SSE `retry` field). */
const RECONNECT_MS = 3000;

/**
 * One client's Server-Sent Events stream (https://html.spec.whatwg.org/multipage/server-sent-events.html).
 * send() never blocks and never throws: while the socket is full, messages queue up to maxQueuedBytes and
 * are dropped past it; once the client has caught up it gets a `dropped` event with how many it missed.
 */
export class SseStream {
  readonly #response: ServerResponse;
  readonly #options: SseStreamOptions;
  readonly #heartbeat: NodeJS.Timeout;
  readonly #closeListeners: Array<() => void> = [];
  /** Chunks waiting for the socket to drain, oldest first. */
  #queue: string[] = [];
  #queuedBytes = 0;
  #dropped = 0;
  /** The last write filled the socket's buffer: wait for 'drain' before writing more. */
  #full = false;
  #closed = false;

  private constructor(response: ServerResponse, options: SseStreamOptions) {
    this.#response = response;
    this.#options = options;
    this.#heartbeat = setInterval(() => this.#writeIdle(': heartbeat\n\n'), options.heartbeatMs);
    response.on('drain', () => this.#drain());
    response.on('close', () => this.#close());
  }

  /** Answers the request with the stream's headers; the response stays open until the client leaves. */
  static open(response: ServerResponse, options: SseStreamOptions): SseStream {
    response.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      // nginx buffers responses unless told not to, which would hold events back until its buffer fills.
      'X-Accel-Buffering': 'no',
    });
    const stream = new SseStream(response, options);
    // The first bytes tell the client the stream is open, before any message passes.
    stream.#write(`retry: ${RECONNECT_MS}\n: switchboard live stream\n\n`);
    return stream;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Sends one message; `data` must be one line (JSON.stringify's output is). */
  send(data: string, event?: string): void {
    const chunk = event === undefined ? `data: ${data}\n\n` : `event: ${event}\ndata: ${data}\n\n`;
    if (this.#closed) return;
    if (!this.#full) {
      this.#write(chunk);
      return;
    }
    const bytes = Buffer.byteLength(chunk);
    if (this.#queuedBytes + bytes > this.#options.maxQueuedBytes) {
      this.#dropped++;
      return;
    }
    this.#queue.push(chunk);
    this.#queuedBytes += bytes;
  }

  /** Called once, when the client has gone or end() was called. */
  onClose(listener: () => void): void {
    if (this.#closed) listener();
    else this.#closeListeners.push(listener);
  }

  /** Ends the stream cleanly (the console is closing); what is still queued is sent first. */
  end(): void {
    if (this.#closed) return;
    for (const chunk of this.#queue) this.#response.write(chunk);
    this.#queue = [];
    this.#response.end();
    this.#close();
  }

  #write(chunk: string): void {
    if (this.#closed || this.#response.destroyed) return;
    this.#full = !this.#response.write(chunk);
  }

  /** A heartbeat only matters on an idle stream: a full one is plainly alive. */
  #writeIdle(chunk: string): void {
    if (!this.#full) this.#write(chunk);
  }

  #drain(): void {
    this.#full = false;
    let index = 0;
    while (index < this.#queue.length && !this.#full) this.#write(this.#queue[index++] as string);
    this.#queue = this.#queue.slice(index);
    this.#queuedBytes = this.#queue.reduce((sum, chunk) => sum + Buffer.byteLength(chunk), 0);
    if (this.#queue.length === 0 && this.#dropped > 0 && !this.#full) {
      const dropped = this.#dropped;
      this.#dropped = 0;
      this.#write(`event: dropped\ndata: ${JSON.stringify({ dropped })}\n\n`);
    }
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#heartbeat);
    this.#queue = [];
    this.#queuedBytes = 0;
    for (const listener of this.#closeListeners.splice(0)) listener();
  }
}
