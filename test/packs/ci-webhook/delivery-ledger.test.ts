import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { DeliveryLedger, PublishTimedOut } from '../../../packs/ci-webhook/delivery-ledger.ts';

/** A publish the test settles by hand, counting how often it was started. */
function manualPublish() {
  const calls: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];
  return {
    calls,
    publish: () => new Promise<void>((resolve, reject) => calls.push({ resolve, reject })),
  };
}

test('a confirmed delivery is a duplicate for the window, then new again', async () => {
  let now = 1_000_000;
  const ledger = new DeliveryLedger({ windowMs: 60_000, now: () => now });
  let published = 0;
  const publish = async () => {
    published++;
  };
  assert.equal(await ledger.deliver('k', publish, 100), 'published');
  now += 59_000;
  assert.equal(await ledger.deliver('k', publish, 100), 'duplicate');
  now += 2000;
  assert.equal(await ledger.deliver('k', publish, 100), 'published');
  assert.equal(published, 2);
  assert.equal(await ledger.deliver(undefined, publish, 100), 'published');
  assert.equal(await ledger.deliver(undefined, publish, 100), 'published', 'no key, no dedupe');
});

test('a failed publish is forgotten, so the retry publishes', async () => {
  const ledger = new DeliveryLedger({ windowMs: 60_000 });
  await assert.rejects(
    ledger.deliver('k', async () => Promise.reject(new Error('broker down')), 100),
    /broker down/,
  );
  let published = 0;
  assert.equal(await ledger.deliver('k', async () => void published++, 100), 'published');
  assert.equal(published, 1);
});

test('a retry joins the publish under way, and a late confirmation is recorded', async () => {
  const ledger = new DeliveryLedger({ windowMs: 60_000 });
  const { calls, publish } = manualPublish();
  await assert.rejects(ledger.deliver('k', publish, 20), PublishTimedOut);
  const retry = ledger.deliver('k', publish, 1000);
  await sleep(10);
  calls[0]?.resolve();
  assert.equal(await retry, 'duplicate');
  assert.equal(await ledger.deliver('k', publish, 20), 'duplicate');
  assert.equal(calls.length, 1, 'published once');
});

test('a publish that fails after its sender gave up raises nothing and is retried by the next delivery', async () => {
  const ledger = new DeliveryLedger({ windowMs: 60_000 });
  const { calls, publish } = manualPublish();
  await assert.rejects(ledger.deliver('k', publish, 10), PublishTimedOut);
  calls[0]?.reject(new Error('channel closed'));
  await sleep(5);
  const retry = ledger.deliver('k', publish, 1000);
  calls[1]?.resolve();
  assert.equal(await retry, 'published');
  assert.equal(calls.length, 2);
});

test('beyond its capacity the ledger forgets the oldest deliveries', async () => {
  const ledger = new DeliveryLedger({ windowMs: 60_000, capacity: 2 });
  for (const key of ['a', 'b', 'c']) await ledger.deliver(key, async () => {}, 100);
  assert.equal(await ledger.deliver('a', async () => {}, 100), 'published');
  assert.equal(await ledger.deliver('c', async () => {}, 100), 'duplicate');
});
