import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import amqp from 'amqplib';
import { startThrowawayBroker, type ThrowawayBroker } from './throwaway-rabbitmq.ts';

const QUORUM_QUEUE = { durable: true, arguments: { 'x-queue-type': 'quorum' } };
const TIMEOUT = { timeout: 60_000 };

let primary: ThrowawayBroker;
let secondary: ThrowawayBroker;

// Both at once, on purpose: concurrent nodes share epmd and must not trip over each other.
before(async () => {
  const started = await Promise.allSettled([startThrowawayBroker(), startThrowawayBroker()]);
  const brokers = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const failure = started.find((result) => result.status === 'rejected');
  if (failure) {
    await Promise.all(brokers.map((broker) => broker.dispose()));
    throw failure.reason;
  }
  [primary, secondary] = brokers as [ThrowawayBroker, ThrowawayBroker];
}, TIMEOUT);

after(async () => {
  await Promise.all([primary?.dispose(), secondary?.dispose()]);
});

// Without an 'error' listener amqplib throws from its socket handler when the broker goes away and leaves
// the connection's heartbeat timer running, which keeps the test process alive after the tests.
async function connect(url: string): Promise<amqp.ChannelModel> {
  const connection = await amqp.connect(url);
  connection.on('error', () => {});
  return connection;
}

async function publishPersistent(url: string, queue: string, body: string): Promise<void> {
  const connection = await connect(url);
  try {
    const channel = await connection.createConfirmChannel();
    await channel.assertQueue(queue, QUORUM_QUEUE);
    channel.sendToQueue(queue, Buffer.from(body), { persistent: true });
    await channel.waitForConfirms();
  } finally {
    await connection.close();
  }
}

async function takeOne(url: string, queue: string): Promise<string | undefined> {
  const connection = await connect(url);
  try {
    const channel = await connection.createChannel();
    await channel.assertQueue(queue, QUORUM_QUEUE);
    const message = await channel.get(queue, { noAck: true });
    return message === false ? undefined : message.content.toString();
  } finally {
    await connection.close();
  }
}

async function timed(action: () => Promise<void>): Promise<number> {
  const began = Date.now();
  await action();
  return Date.now() - began;
}

test('two brokers started at once are separate nodes', TIMEOUT, async () => {
  assert.notEqual(primary.nodeName, secondary.nodeName);
  assert.notEqual(primary.url, secondary.url);
  assert.match(primary.url, /^amqp:\/\/guest:guest@127\.0\.0\.1:\d+$/);
  await publishPersistent(primary.url, 'only-on-primary', 'hello');
  assert.equal(await takeOne(secondary.url, 'only-on-primary'), undefined);
  assert.equal(await takeOne(primary.url, 'only-on-primary'), 'hello');
});

test('a persistent message in a durable quorum queue survives restart()', TIMEOUT, async (t) => {
  await publishPersistent(primary.url, 'survives-restart', 'before restart');
  t.diagnostic(`restart took ${await timed(() => primary.restart())} ms`);
  assert.equal(await takeOne(primary.url, 'survives-restart'), 'before restart');
});

test('kill() crashes the node and start() brings it back with confirmed messages', TIMEOUT, async (t) => {
  await publishPersistent(primary.url, 'survives-crash', 'before crash');
  const witness = await amqp.connect(primary.url);
  const lost = new Promise((resolve) => witness.on('error', resolve));
  await primary.kill();
  assert.ok(await lost, 'an open client connection sees the crash');
  await assert.rejects(amqp.connect(primary.url));
  t.diagnostic(`start after kill took ${await timed(() => primary.start())} ms`);
  assert.equal(await takeOne(primary.url, 'survives-crash'), 'before crash');
});

test('stop() and dispose() are idempotent, and a disposed broker cannot start', TIMEOUT, async () => {
  await Promise.all([secondary.stop(), secondary.stop()]);
  await assert.rejects(amqp.connect(secondary.url));
  await secondary.dispose();
  await secondary.dispose();
  await assert.rejects(secondary.start(), /disposed/);
});
