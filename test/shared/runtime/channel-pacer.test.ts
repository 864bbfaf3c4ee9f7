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

/** A command that never gives up. */
const waiting = { signal: new AbortController().signal };

test('sends to one channel go in order, a burst at once and then one per second', async () => {
  const clock = virtualClock();
  const pacer = new ChannelPacer({ burst: 3, perSecond: 1, ...clock });
  const sent: Array<[number, number]> = [];
  await Promise.all(
    Array.from({ length: 6 }, (_, i) =>
      pacer.schedule('C1', async () => void sent.push([i, clock.elapsed()]), waiting),
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
    pacer.schedule('C1', async () => void order.push(`C1@${clock.elapsed()}`), waiting),
    pacer.schedule('C2', async () => void order.push(`C2@${clock.elapsed()}`), waiting),
  ]);
  assert.deepEqual(order.sort(), ['C1@0', 'C2@0']);
});

test('a failed send does not hold up the next one', async () => {
  const clock = virtualClock();
  const pacer = new ChannelPacer({ burst: 5, perSecond: 1, ...clock });
  const first = pacer.schedule(
    'C1',
    async () => {
      throw new Error('is_archived');
    },
    waiting,
  );
  const second = pacer.schedule('C1', async () => 'sent', waiting);
  await assert.rejects(first, /is_archived/);
  assert.equal(await second, 'sent');
});

/** A clock that moves only when the test says, for what happens while sends wait. */
function manualClock() {
  let now = 0;
  let sleepers: Array<{ at: number; wake: () => void }> = [];
  const sleep = (ms: number, signal?: AbortSignal) =>
    new Promise<void>((wake) => {
      sleepers.push({ at: now + ms, wake });
      signal?.addEventListener('abort', () => wake(), { once: true });
    });
  const advance = async (ms: number) => {
    now += ms;
    const due = sleepers.filter((sleeper) => sleeper.at <= now);
    sleepers = sleepers.filter((sleeper) => sleeper.at > now);
    for (const sleeper of due) sleeper.wake();
    await new Promise((resolve) => setImmediate(resolve));
  };
  return { now: () => now, sleep, advance };
}

/** What a send has come to by the next turn of the event loop. */
function outcome(send: Promise<unknown>): Promise<string> {
  return Promise.race([
    send.then(
      () => 'sent',
      (error: Error) => `failed: ${error.message}`,
    ),
    new Promise<string>((resolve) => setImmediate(() => resolve('still waiting'))),
  ]);
}

test('a command that gave up leaves its lane at once, and the next one takes its place', async () => {
  const clock = manualClock();
  const pacer = new ChannelPacer({ burst: 1, perSecond: 1, now: clock.now, sleep: clock.sleep });
  const sent: string[] = [];
  const send = (name: string) => async () => void sent.push(`${name}@${clock.now()}`);
  const first = pacer.schedule('C1', send('first'), waiting);
  const timedOut = new AbortController();
  const second = pacer.schedule('C1', send('second'), { signal: timedOut.signal });
  const third = pacer.schedule('C1', send('third'), waiting);
  await first;
  timedOut.abort(new Error('time limit reached'));
  assert.equal(await outcome(second), 'failed: time limit reached', 'out of the lane without waiting');
  await clock.advance(1000);
  assert.equal(await outcome(third), 'sent');
  assert.deepEqual(sent, ['first@0', 'third@1000'], 'the one that gave up spent no turn');
});

test('the time a send waits for its lane goes through waitForTurn; the send itself does not', async () => {
  const clock = manualClock();
  const pacer = new ChannelPacer({ burst: 1, perSecond: 1, now: clock.now, sleep: clock.sleep });
  const waits: string[] = [];
  const command = (name: string) => ({
    signal: new AbortController().signal,
    waitForTurn: async <T>(turn: Promise<T>) => {
      waits.push(`${name} waits@${clock.now()}`);
      const granted = await turn;
      waits.push(`${name} goes@${clock.now()}`);
      return granted;
    },
  });
  const send = (name: string) => async () => void waits.push(`${name} sends@${clock.now()}`);
  const first = pacer.schedule('C1', send('first'), command('first'));
  const second = pacer.schedule('C1', send('second'), command('second'));
  await first;
  await clock.advance(1000);
  await second;
  assert.deepEqual(waits, [
    'first waits@0',
    'second waits@0',
    'first goes@0',
    'first sends@0',
    'second goes@1000',
    'second sends@1000',
  ]);
});
