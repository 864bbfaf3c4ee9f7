import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ChannelPacer } from '../../../shared/runtime/channel-pacer.ts';

/** A clock that only moves when the pacer sleeps, so timing is exact and the test instant. */
function virtualClock() {
  let now = 0;
  const sleep = async (ms: number) => {
    now += ms;
  };
  return { now: () => now, sleep, elapsed: () => now };
}

test('sends to one channel go in order, a burst at once and then one per second', async () => {
  const clock = virtualClock();
  const pacer = new ChannelPacer({ burst: 3, perSecond: 1, ...clock });
  const sent: Array<[number, number]> = [];
  await Promise.all(
    Array.from({ length: 6 }, (_, i) =>
      pacer.schedule('C1', async () => void sent.push([i, clock.elapsed()])),
    ),
  );
  assert.deepEqual(sent, [
    [0, 0],
    [1, 0],
    [2, 0],
    [3, 1000],
    [4, 2000],
    [5, 3000],
  ]);
});

test('channels do not wait for each other', async () => {
  const clock = virtualClock();
  const pacer = new ChannelPacer({ burst: 1, perSecond: 1, ...clock });
  const order: string[] = [];
  await Promise.all([
    pacer.schedule('C1', async () => void order.push(`C1@${clock.elapsed()}`)),
    pacer.schedule('C2', async () => void order.push(`C2@${clock.elapsed()}`)),
  ]);
  assert.deepEqual(order.sort(), ['C1@0', 'C2@0']);
});

test('a failed send does not hold up the next one', async () => {
  const clock = virtualClock();
  const pacer = new ChannelPacer({ burst: 5, perSecond: 1, ...clock });
  const first = pacer.schedule('C1', async () => {
    throw new Error('is_archived');
  });
  const second = pacer.schedule('C1', async () => 'sent');
  await assert.rejects(first, /is_archived/);
  assert.equal(await second, 'sent');
});
