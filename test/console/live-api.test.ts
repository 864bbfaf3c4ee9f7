import assert from 'node:assert/strict';
import { createServer, get, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { BusTap } from '../../console/bus-tap.ts';
import { parseConsoleConfig } from '../../console/console-config.ts';
import { type RunningConsole, startConsole } from '../../console/console-server.ts';
import { createLiveFeature, LIVE_DEFAULTS, type LiveOptions } from '../../console/live/live-feature.ts';
import { routeApi } from '../../console/routes.ts';
import { MemoryBus } from '../../shared/bus/memory-bus.ts';
import { COMMANDS_EXCHANGE, EVENTS_EXCHANGE, SENT_BY_HEADER } from '../../shared/bus/topology.ts';
import { createEnvelope, type Envelope, type MessageKind } from '../../shared/envelope.ts';
import { testLogger, uniquePackName } from '../support/bus.ts';

interface LiveMessage {
  envelope: Envelope;
  routingKey: string;
  seenAt: string;
  sentBy?: string;
}

/** One Server-Sent Event as a client reads it; `comment` for lines starting with ':'. */
interface SseEvent {
  event: string;
  data: string;
  comment?: string;
}

/** Reads a text/event-stream body into events, the way EventSource splits it. */
class SseReader {
  readonly events: SseEvent[] = [];
  /** The `message` events, parsed once as they arrive. */
  readonly #messages: LiveMessage[] = [];
  ended = false;
  endError: Error | undefined;
  #buffer = '';
  #wake: (() => void) | undefined;

  constructor(body: AsyncIterable<Buffer | Uint8Array>) {
    void this.#read(body);
  }

  messages(): LiveMessage[] {
    return this.#messages;
  }

  async waitFor(check: (reader: SseReader) => boolean, what: string, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check(this)) {
      if (this.ended) throw new Error(`the stream ended before ${what}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${what} within ${timeoutMs} ms; got ${this.events.length} events`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** Resolves once the stream has ended (cleanly or cut); rejects when it is still open after `timeoutMs`. */
  async ending(timeoutMs: number): Promise<void> {
    await this.waitFor((r) => r.ended, 'end of the stream', timeoutMs).catch((error: Error) => {
      if (!this.ended) throw error;
    });
  }

  /** Resolves with the first message whose envelope has this id. */
  async message(id: string): Promise<LiveMessage> {
    await this.waitFor((r) => r.messages().some((m) => m.envelope.id === id), `message ${id}`);
    return this.messages().find((m) => m.envelope.id === id) as LiveMessage;
  }

  async #read(body: AsyncIterable<Buffer | Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of body) {
        this.#buffer += decoder.decode(chunk, { stream: true });
        let end = this.#buffer.indexOf('\n\n');
        while (end >= 0) {
          this.#parse(this.#buffer.slice(0, end));
          this.#buffer = this.#buffer.slice(end + 2);
          end = this.#buffer.indexOf('\n\n');
        }
        this.#wake?.();
      }
    } catch (error) {
      this.endError = error as Error;
    }
    this.ended = true;
    this.#wake?.();
  }

  #parse(block: string): void {
    const event: SseEvent = { event: 'message', data: '' };
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) event.comment = line.slice(1).trim();
      else if (line.startsWith('event: ')) event.event = line.slice('event: '.length);
      else if (line.startsWith('data: ')) data.push(line.slice('data: '.length));
    }
    event.data = data.join('\n');
    // A block of comments only is no event for EventSource; kept here to see heartbeats.
    if (data.length === 0 && event.comment !== undefined) event.event = 'comment';
    if (data.length > 0 || event.comment !== undefined) this.events.push(event);
    if (event.event === 'message') this.#messages.push(JSON.parse(event.data) as LiveMessage);
  }
}

/** Opens GET /api/events and resolves once the stream is open (the console subscribed before answering). */
async function openStream(baseUrl: string, query = ''): Promise<{ reader: SseReader; close: () => void }> {
  const controller = new AbortController();
  const response = await fetch(`${baseUrl}/api/events${query}`, { signal: controller.signal });
  assert.equal(response.status, 200, await (response.status === 200 ? '' : response.text()));
  assert.match(response.headers.get('content-type') ?? '', /^text\/event-stream/);
  const reader = new SseReader(response.body as unknown as AsyncIterable<Uint8Array>);
  return { reader, close: () => controller.abort() };
}

function message(fields: {
  kind?: MessageKind;
  pack: string;
  name: string;
  correlationId?: string;
  payload?: unknown;
}): Envelope {
  return createEnvelope({ kind: 'event', payload: { n: 1 }, ...fields });
}

async function publish(bus: MemoryBus, envelope: Envelope): Promise<void> {
  const exchange = envelope.kind === 'event' ? EVENTS_EXCHANGE : COMMANDS_EXCHANGE;
  await bus.publish({ exchange, routingKey: `${envelope.pack}.${envelope.name}` }, envelope);
}

async function errorOf(response: Response): Promise<{ code: string; message: string }> {
  return ((await response.json()) as { error: { code: string; message: string } }).error;
}

describe('GET /api/events on the console', () => {
  const bus = new MemoryBus();
  let console: RunningConsole;

  before(async () => {
    console = await startConsole({
      bus,
      logger: testLogger,
      config: parseConsoleConfig({ SWITCHBOARD_CONSOLE_PORT: '0' }),
    });
  });
  after(async () => {
    await console.close();
    await bus.close();
  });

  test('streams each event and command as it passes: the whole envelope, its routing key, when it was seen', async () => {
    const stream = await openStream(console.url);
    const pack = uniquePackName('live');
    const event = message({ pack, name: 'Observed', correlationId: 'c-1', payload: { text: 'hello' } });
    const command = message({ kind: 'command', pack, name: 'Post', payload: { channelId: 'C1' } });
    const before = Date.now();
    await publish(bus, event);
    await publish(bus, command);
    const seenEvent = await stream.reader.message(event.id);
    const seenCommand = await stream.reader.message(command.id);
    stream.close();
    assert.deepEqual(seenEvent.envelope, event);
    assert.equal(seenEvent.routingKey, `${pack}.Observed`);
    assert.ok(Date.parse(seenEvent.seenAt) >= before - 1000, seenEvent.seenAt);
    assert.deepEqual(seenCommand.envelope, command);
    assert.equal(seenCommand.routingKey, `${pack}.Post`);
    assert.equal(seenCommand.sentBy, undefined, 'nobody said who sent it');
  });

  test('a command sent through the console or the HTTP API says who sent it (x-switchboard-sent-by)', async () => {
    const stream = await openStream(console.url);
    const command = message({ kind: 'command', pack: uniquePackName('live'), name: 'Post' });
    await bus.publish({ exchange: COMMANDS_EXCHANGE, routingKey: `${command.pack}.Post` }, command, {
      headers: { [SENT_BY_HEADER]: 'tekton' },
    });
    const seen = await stream.reader.message(command.id);
    stream.close();
    assert.equal(seen.sentBy, 'tekton');
  });

  /**
   * What a filtered stream showed of `published`: an unfiltered witness stream first sees all of them go by
   * (so the console has handled each), then a marker that matches the filter ends what the filtered one got.
   */
  async function seenThrough(query: string, published: Envelope[], marker: Envelope): Promise<Envelope[]> {
    const filtered = await openStream(console.url, query);
    const witness = await openStream(console.url);
    for (const envelope of published) await publish(bus, envelope);
    for (const envelope of published) await witness.reader.message(envelope.id);
    await publish(bus, marker);
    await filtered.reader.message(marker.id);
    filtered.close();
    witness.close();
    return filtered.reader
      .messages()
      .map((m) => m.envelope)
      .filter((envelope) => envelope.id !== marker.id);
  }

  test('pack, name and correlationId keep only exact matches, and all the filters given must match', async () => {
    const pack = uniquePackName('live');
    const other = uniquePackName('live');
    const wanted = message({ pack, name: 'Observed', correlationId: 'wanted' });
    const published = [
      message({ pack: other, name: 'Observed', correlationId: 'wanted' }),
      message({ pack, name: 'Other', correlationId: 'wanted' }),
      message({ pack, name: 'Observed', correlationId: 'other' }),
      message({ pack, name: 'Observed' }),
      message({ pack: `${pack}x`, name: 'Observed', correlationId: 'wanted' }),
      wanted,
    ];
    const marker = message({ pack, name: 'Observed', correlationId: 'wanted' });
    const seen = await seenThrough(`?pack=${pack}&name=Observed&correlationId=wanted`, published, marker);
    assert.deepEqual(
      seen.map((e) => e.id),
      [wanted.id],
    );

    const byPack = await seenThrough(`?pack=${other}`, published, message({ pack: other, name: 'End' }));
    assert.deepEqual(
      byPack.map((e) => e.id),
      [published[0]?.id],
    );
  });

  test('kind keeps only events or only commands; an empty filter is no filter', async () => {
    const pack = uniquePackName('live');
    const event = message({ pack, name: 'Observed' });
    const command = message({ kind: 'command', pack, name: 'Post' });
    const commands = await seenThrough(
      `?kind=command&pack=${pack}&name=`,
      [event, command],
      message({ kind: 'command', pack, name: 'End' }),
    );
    assert.deepEqual(
      commands.map((e) => e.id),
      [command.id],
    );
    const events = await seenThrough(
      `?kind=event&pack=${pack}`,
      [event, command],
      message({ pack, name: 'End' }),
    );
    assert.deepEqual(
      events.map((e) => e.id),
      [event.id],
    );
  });

  test('a bad filter gets 400 naming the problem, before any stream opens', async () => {
    const cases = [
      ['?kind=commands', 'invalid_filter', /kind is event or command, not "commands"/],
      ['?correlation_id=abc', 'unknown_filter', /unknown filter "correlation_id".*correlationId/],
      ['?pack=a&pack=b', 'repeated_filter', /give pack once/],
    ] as const;
    for (const [query, code, reason] of cases) {
      const response = await fetch(`${console.url}/api/events${query}`);
      assert.equal(response.status, 400, query);
      assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
      const error = await errorOf(response);
      assert.equal(error.code, code, query);
      assert.match(error.message, reason, query);
    }
  });

  test('only GET: a POST gets 405 naming the method to use', async () => {
    const response = await fetch(`${console.url}/api/events`, { method: 'POST', body: '{}' });
    assert.equal(response.status, 405);
    assert.equal(response.headers.get('allow'), 'GET');
    await response.arrayBuffer();
  });
});

test('the stream ends when the console closes, and closing does not wait for the client', async () => {
  const bus = new MemoryBus();
  const console = await startConsole({
    bus,
    logger: testLogger,
    config: parseConsoleConfig({ SWITCHBOARD_CONSOLE_PORT: '0' }),
  });
  const stream = await openStream(console.url);
  await stream.reader.waitFor((r) => r.events.length > 0, 'first comment');
  await console.close();
  await stream.reader.ending(2000);
  await bus.close();
});

/** The Live feature alone on a server of its own, with options a test can make small. */
async function startLiveServer(
  options: Partial<LiveOptions>,
): Promise<{ bus: MemoryBus; url: string; close: () => Promise<void> }> {
  const bus = new MemoryBus();
  const tap = await BusTap.start(bus, testLogger);
  const feature = createLiveFeature({ tap }, { ...LIVE_DEFAULTS, ...options });
  const server: Server = createServer((request, response) => {
    void routeApi(feature.routes, request, response, new URL(request.url ?? '/', 'http://live'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    bus,
    url: `http://127.0.0.1:${port}`,
    async close() {
      await feature.stop?.();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await tap.stop();
      await bus.close();
    },
  };
}

describe('the Live stream under load and over time', () => {
  test('an idle stream gets a heartbeat comment, so proxies keep it open', async () => {
    const live = await startLiveServer({ heartbeatMs: 50 });
    try {
      const stream = await openStream(live.url);
      await stream.reader.waitFor((r) => r.events.some((e) => e.comment === 'heartbeat'), 'heartbeat', 2000);
      stream.close();
    } finally {
      await live.close();
    }
  });

  test('closing a stream frees its place: with one allowed, a second gets 503 until the first is closed', async () => {
    const live = await startLiveServer({ maxStreams: 1 });
    try {
      const first = await openStream(live.url);
      const refused = await fetch(`${live.url}/api/events`);
      assert.equal(refused.status, 503);
      assert.equal((await errorOf(refused)).code, 'too_many_streams');
      first.close();
      let second: Awaited<ReturnType<typeof openStream>> | undefined;
      const deadline = Date.now() + 2000;
      while (!second) {
        const response = await fetch(`${live.url}/api/events`, { method: 'HEAD' });
        if (response.status === 200) second = await openStream(live.url);
        else if (Date.now() > deadline) assert.fail(`still ${response.status} 2 s after the first closed`);
        else await sleep(20);
      }
      second.close();
    } finally {
      await live.close();
    }
  });

  test('a client that does not read loses messages, not the console its memory: it is told how many', async () => {
    const live = await startLiveServer({ maxQueuedBytes: 64 * 1024 });
    const pack = uniquePackName('slow');
    // A client that stops reading at once: Node stops reading its socket once its buffer is full.
    const slow = await new Promise<IncomingMessage>((resolve, reject) =>
      get(`${live.url}/api/events?pack=${pack}`, resolve).on('error', reject),
    );
    slow.pause();
    const witness = await openStream(live.url, `?pack=${pack}`);
    try {
      // 16 MB, more than loopback socket buffers hold, so the console must queue for the slow client, then
      // drop. In small bursts that a client that reads (the witness) takes without loss.
      const count = 4000;
      const burst = 10;
      const filler = 'x'.repeat(4 * 1024);
      const published: string[] = [];
      for (let n = 0; n < count; n++) {
        const envelope = message({ pack, name: 'Observed', payload: { n, filler } });
        published.push(envelope.id);
        await publish(live.bus, envelope);
        if (published.length % burst === 0) {
          await witness.reader.waitFor((r) => r.messages().length === published.length, `message ${n}`);
        }
      }
      assert.equal(witness.reader.messages().length, count, 'the client that reads got every message');
      assert.ok(!witness.reader.events.some((e) => e.event === 'dropped'));

      // Once it reads again, it gets what its socket and queue held, then how many it missed.
      const reader = new SseReader(slow);
      slow.resume();
      await reader.waitFor((r) => r.events.some((e) => e.event === 'dropped'), 'a dropped event');
      const marker = message({ pack, name: 'End' });
      await publish(live.bus, marker);
      await reader.message(marker.id);
      const received = reader.messages().filter((m) => m.envelope.id !== marker.id);
      const dropped = reader.events
        .filter((e) => e.event === 'dropped')
        .reduce((sum, e) => sum + (JSON.parse(e.data) as { dropped: number }).dropped, 0);
      assert.ok(dropped > 0, `nothing was dropped for a client that did not read ${count} messages`);
      assert.equal(
        received.length + dropped,
        count,
        'every message is either received or counted as dropped',
      );
      // What did arrive, arrived in order.
      const order = received.map((m) => published.indexOf(m.envelope.id));
      assert.deepEqual(
        order,
        order.toSorted((a, b) => a - b),
      );
      slow.destroy();
    } finally {
      witness.close();
      await live.close();
    }
  });
});
