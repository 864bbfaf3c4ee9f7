import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PackDirectory } from '../../console/pack-directory.ts';
import { MemoryBus } from '../../shared/bus/memory-bus.ts';
import { createEnvelope, type Envelope } from '../../shared/envelope.ts';
import { testLogger, uniquePackName } from '../support/bus.ts';
import { startTestPack } from '../support/test-pack.ts';

const T0 = Date.parse('2026-12-04T20:00:00.000Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000);

function packEvent(
  name: 'PackStarted' | 'PackAlive' | 'PackStopped',
  seconds: number,
  fields: Record<string, unknown> = {},
): Envelope {
  const pack = (fields.name as string | undefined) ?? 'slack';
  return {
    ...createEnvelope({
      kind: 'event',
      pack,
      name,
      payload: { name: pack, instanceId: 'host-1', version: '1.0.0', labels: { env: 'prod' }, ...fields },
    }),
    createdAt: at(seconds).toISOString(),
  };
}

describe('the pack directory', () => {
  const bus = new MemoryBus();
  let directory: PackDirectory;
  before(async () => {
    directory = await PackDirectory.start(bus, testLogger);
  });
  after(async () => {
    await directory.stop();
    await bus.close();
  });

  test('an instance not heard from for three of its intervals is silent, until its next PackAlive', () => {
    directory.record(packEvent('PackStarted', 0, { instanceId: 'quiet', aliveIntervalMs: 10_000 }));
    const stateAt = (seconds: number) =>
      directory.list(at(seconds)).find((instance) => instance.instanceId === 'quiet')?.state;
    assert.equal(stateAt(30), 'running');
    assert.equal(stateAt(31), 'silent');
    directory.record(packEvent('PackAlive', 40, { instanceId: 'quiet', aliveIntervalMs: 10_000 }));
    const [instance] = directory.list(at(41)).filter((each) => each.instanceId === 'quiet');
    assert.equal(instance?.state, 'running');
    assert.equal(instance?.lastSeen, at(40).toISOString());
    assert.equal(stateAt(71), 'silent');
  });

  test('an instance that never said its interval is judged by the default, 30 s', () => {
    directory.record(packEvent('PackStarted', 0, { instanceId: 'old-runtime' }));
    const stateAt = (seconds: number) =>
      directory.list(at(seconds)).find((instance) => instance.instanceId === 'old-runtime');
    assert.equal(stateAt(90)?.state, 'running');
    assert.equal(stateAt(91)?.state, 'silent');
    assert.equal(stateAt(91)?.aliveIntervalMs, 30_000);
  });

  test('a stopped instance stays stopped, however long ago, and a late PackAlive does not revive it', () => {
    directory.record(packEvent('PackStarted', 0, { instanceId: 'done' }));
    directory.record(packEvent('PackStopped', 5, { instanceId: 'done', reason: 'SIGTERM' }));
    // Published before PackStopped, delivered after it.
    directory.record(packEvent('PackAlive', 4, { instanceId: 'done' }));
    const [instance] = directory.list(at(3600)).filter((each) => each.instanceId === 'done');
    assert.equal(instance?.state, 'stopped');
    assert.equal(instance?.stopReason, 'SIGTERM');
  });

  test('a PackAlive from an instance whose start the console missed lists it, with its labels', () => {
    directory.record(packEvent('PackAlive', 0, { name: 'matrix', instanceId: 'before-console' }));
    const [instance] = directory.list(at(1)).filter((each) => each.instanceId === 'before-console');
    assert.deepEqual(
      { name: instance?.name, state: instance?.state, labels: instance?.labels, version: instance?.version },
      { name: 'matrix', state: 'running', labels: { env: 'prod' }, version: '1.0.0' },
    );
  });

  test('keeps the latest PackStarted of each pack: its commands, not replaced by PackAlive or an older start', () => {
    const commands = (names: string[]) =>
      names.map((name) => ({
        name,
        description: `does ${name}`,
        inputSchema: { type: 'object' },
        events: [`${name}Done`, `${name}Failed`],
      }));
    directory.record(
      packEvent('PackStarted', 10, {
        name: 'notify',
        instanceId: 'n2',
        commands: commands(['Notify', 'Ping']),
      }),
    );
    directory.record(
      packEvent('PackStarted', 5, { name: 'notify', instanceId: 'n1', commands: commands(['Notify']) }),
    );
    directory.record(packEvent('PackAlive', 20, { name: 'notify', instanceId: 'n1' }));
    const announcement = directory.announcement('notify');
    assert.equal(announcement?.instanceId, 'n2');
    assert.deepEqual(
      announcement?.commands.map((command) => [command.name, command.events]),
      [
        ['Notify', ['NotifyDone', 'NotifyFailed']],
        ['Ping', ['PingDone', 'PingFailed']],
      ],
    );
    assert.equal(directory.announcement('nobody'), undefined);
  });
});

test('PackAlive on the bus moves lastSeen on', async () => {
  const bus = new MemoryBus();
  const directory = await PackDirectory.start(bus, testLogger);
  const name = uniquePackName('alive');
  const pack = await startTestPack(bus, { name, aliveIntervalMs: 30 });
  const lastSeen = () => directory.list().find((instance) => instance.name === name)?.lastSeen;
  const deadline = Date.now() + 5000;
  while (lastSeen() === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  const first = lastSeen();
  assert.ok(first, `${name} is listed`);
  while (lastSeen() === first && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.ok((lastSeen() ?? '') > first, 'lastSeen moved on');
  assert.equal(directory.list().find((instance) => instance.name === name)?.state, 'running');
  assert.deepEqual(
    directory
      .announcement(name)
      ?.commands.map((command) => command.name)
      .sort(),
    ['Broken', 'Crash', 'Flaky', 'Post', 'Slow'],
  );
  await pack.stop({ graceMs: 100 });
  await directory.stop();
  await bus.close();
});
