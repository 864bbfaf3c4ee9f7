import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryBus } from '../../../shared/bus/memory-bus.ts';
import { connectTestBus, uniquePackName } from '../../support/bus.ts';

test('a hold is refused to another process until it is released', async () => {
  const first = await connectTestBus();
  const second = await connectTestBus();
  try {
    const name = uniquePackName('hold');
    const held = await first.hold(name);
    assert.ok(held, 'the first process gets the hold');
    assert.equal(await second.hold(name), undefined, 'the second is refused while it is held');
    await held.release();
    const taken = await second.hold(name);
    assert.ok(taken, 'once released, the second gets it');
    await taken.release();
  } finally {
    await Promise.allSettled([first.close(), second.close()]);
  }
});

test('a process that disconnects holds nothing any more', async () => {
  const first = await connectTestBus();
  const second = await connectTestBus();
  try {
    const name = uniquePackName('hold');
    assert.ok(await first.hold(name));
    await first.close();
    const taken = await second.hold(name);
    assert.ok(taken, 'the broker dropped the hold with its connection');
    await taken.release();
  } finally {
    await second.close();
  }
});

test('on the in-memory bus a hold is refused until released, and releasing twice frees only once', async () => {
  const bus = new MemoryBus();
  const held = await bus.hold('x');
  assert.ok(held);
  assert.equal(await bus.hold('x'), undefined);
  await held.release();
  const again = await bus.hold('x');
  assert.ok(again);
  await held.release();
  assert.equal(await bus.hold('x'), undefined, "a stale release does not free the new holder's name");
});
