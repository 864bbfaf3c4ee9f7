import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import amqp, { type Channel, type ChannelModel } from 'amqplib';
import type { AmqpBus } from '../../../shared/bus/amqp/amqp-bus.ts';
import { createEnvelope } from '../../../shared/envelope.ts';
import { brokerUrl, connectTestBus } from '../../support/bus.ts';
import { startTcpProxy, type TcpProxy } from '../../support/tcp-proxy.ts';

let proxy: TcpProxy;
let bus: AmqpBus;
let observer: ChannelModel;
let channel: Channel;

before(async () => {
  proxy = await startTcpProxy(brokerUrl());
  bus = await connectTestBus(proxy.url, { publishTimeoutMs: 60_000 });
  // The observer talks to the broker directly, so cutting the proxy does not disturb it.
  observer = await amqp.connect(brokerUrl());
  channel = await observer.createChannel();
});
after(async () => {
  await bus?.close();
  await observer?.close();
  await proxy?.close();
});

async function until(condition: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !condition(); await sleep(20)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
  }
}

/**
 * What a consumer that drops repeated ids sees: each message once, at its first arrival. Resends may
 * repeat a message, but no message may arrive for the first time after a later one did.
 */
function firstArrivals(arrivals: number[]): number[] {
  return [...new Set(arrivals)];
}

const cases = [
  ['the broker got none of them', 0],
  // About 20 of the 50: those arrive twice, the rest once, and the first arrivals must still be in order.
  ['the broker got the first ones, but none of their confirms came back', 30_000],
] as const;
for (const [what, passToBroker] of cases) {
  test(`posts unconfirmed when the connection drops arrive again in publish order (${what})`, async () => {
    const total = 60;
    const { queue } = await channel.assertQueue('', { exclusive: true });
    const arrivals: number[] = [];
    await channel.consume(
      queue,
      (message) => {
        if (message) arrivals.push(JSON.parse(message.content.toString()).payload.seq);
      },
      { noAck: true },
    );
    const text = 'x'.repeat(1000);
    const post = (seq: number) =>
      bus.publish(
        { queue },
        createEnvelope({
          kind: 'command',
          pack: 'order',
          name: 'Post',
          payload: { channelId: 'C1', seq, text },
        }),
      );
    const seqs = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

    // Confirmed before the outage.
    await Promise.all(seqs(0, 10).map(post));
    // Written to the socket, but no confirm comes back: all 50 are unconfirmed when the connection goes.
    proxy.stall({ passToBroker });
    const inFlight = seqs(10, total).map(post);
    await until(() => proxy.droppedBytes > 0, 'the posts left the process');
    await until(() => arrivals.length > 10 || passToBroker === 0, 'the broker routed what it got');
    proxy.cut();

    await Promise.all(inFlight);
    await until(() => new Set(arrivals).size === total, `all ${total} posts arrived`);
    assert.deepEqual(firstArrivals(arrivals), seqs(0, total), `arrival order: ${arrivals.join(' ')}`);
    if (passToBroker > 0) assert.ok(arrivals.length > total, 'some posts reached the broker before the cut');
  });
}
