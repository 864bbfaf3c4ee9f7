import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parseConsoleConfig } from '../../console/console-config.ts';
import { type RunningConsole, startConsole } from '../../console/console-server.ts';
import type { MinuteCounts } from '../../console/overview/activity-counts.ts';
import type { FailureSummary } from '../../console/overview/latest-failures.ts';
import type { QueueReport } from '../../console/overview/queue-report.ts';
import type { PackInstance } from '../../console/pack-directory.ts';
import type { Bus } from '../../shared/bus/bus.ts';
import { MemoryBus, type WaitingCommands } from '../../shared/bus/memory-bus.ts';
import { COMMANDS_EXCHANGE, packQueueName, routingKey } from '../../shared/bus/topology.ts';
import { createEnvelope } from '../../shared/envelope.ts';
import { connectTestBus, testLogger, uniquePackName } from '../support/bus.ts';
import { eventually } from '../support/eventually.ts';
import { startTestPack } from '../support/test-pack.ts';

interface Overview {
  packs: PackInstance[];
  queues: Array<QueueReport & { pack: string }>;
  deadLetters: QueueReport;
  waitingCommands: WaitingCommands[] | null;
  activity: { minutes: MinuteCounts[]; totals: { events: number; commands: number; failures: number } };
  failures: FailureSummary[];
}

async function overviewOf(console: RunningConsole): Promise<Overview> {
  const response = await fetch(`${console.url}/api/overview`);
  assert.equal(response.status, 200);
  return (await response.json()) as Overview;
}

function sendCommand(bus: Bus, pack: string, name: string, payload: unknown) {
  return bus.publish(
    { exchange: COMMANDS_EXCHANGE, routingKey: routingKey(pack, name) },
    createEnvelope({ kind: 'command', pack, name, payload }),
  );
}

describe('GET /api/overview on the in-memory bus', () => {
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

  test('counts the traffic of the last hour per minute and lists the latest failure with its code and reason', async () => {
    const name = uniquePackName('overview');
    const pack = await startTestPack(bus, { name });
    await sendCommand(bus, name, 'Post', { channelId: 'C1', message: 'hi' });
    await sendCommand(bus, name, 'Broken', {});
    await eventually(async () => {
      const { activity, failures } = await overviewOf(console);
      assert.equal(activity.minutes.length, 60);
      const minuteMs = activity.minutes.map((minute) => Date.parse(minute.minute));
      assert.ok(
        minuteMs.every((ms, index) => index === 0 || ms - (minuteMs[index - 1] as number) === 60_000),
      );
      assert.ok(activity.totals.commands >= 2, `commands: ${activity.totals.commands}`);
      // PackStarted, Posted, BrokenFailed at least.
      assert.ok(activity.totals.events >= 3, `events: ${activity.totals.events}`);
      assert.ok(activity.totals.failures >= 1, `failures: ${activity.totals.failures}`);
      // All in the current minute (or the one before, when the test crossed a minute's end).
      const recent = activity.minutes.slice(-2).reduce((total, minute) => total + minute.commands, 0);
      assert.equal(recent, activity.totals.commands);
      const [failure] = failures.filter((each) => each.pack === name);
      assert.deepEqual(
        { name: failure?.name, errorCode: failure?.errorCode, reason: failure?.reason },
        { name: 'BrokenFailed', errorCode: 'not_found', reason: 'channel C404 does not exist' },
      );
    });
    await pack.stop({ graceMs: 100 });
  });

  test("shows a pack queue's depth and consumers: commands for a stopped pack wait in it", async () => {
    const name = uniquePackName('overview');
    const pack = await startTestPack(bus, { name });
    await eventually(async () => {
      const queue = (await overviewOf(console)).queues.find((each) => each.pack === name);
      assert.deepEqual(queue, { pack: name, queue: packQueueName(name), messages: 0, consumers: 1 });
    });
    await pack.stop({ graceMs: 100 });
    await sendCommand(bus, name, 'Post', { channelId: 'C1', message: 'one' });
    await sendCommand(bus, name, 'Post', { channelId: 'C1', message: 'two' });
    await eventually(async () => {
      const queue = (await overviewOf(console)).queues.find((each) => each.pack === name);
      assert.deepEqual(queue, { pack: name, queue: packQueueName(name), messages: 2, consumers: 0 });
    });
  });

  test('shows the commands the in-memory bus keeps for a pack that never started, and the dead letters', async () => {
    const before = await overviewOf(console);
    const ghost = uniquePackName('ghost');
    await sendCommand(bus, ghost, 'DoIt', {});
    const waiting = (await overviewOf(console)).waitingCommands?.find(
      (each) => each.routingKey === `${ghost}.DoIt`,
    );
    assert.equal(waiting?.count, 1);
    assert.ok(!Number.isNaN(Date.parse(waiting?.oldestAt ?? '')));

    const name = uniquePackName('overview');
    const pack = await startTestPack(bus, { name });
    bus.publishRaw(
      { exchange: COMMANDS_EXCHANGE, routingKey: routingKey(name, 'Post') },
      Buffer.from('{oops'),
    );
    await eventually(async () => {
      const { deadLetters } = await overviewOf(console);
      assert.equal(deadLetters.queue, 'switchboard.dead');
      assert.equal(deadLetters.messages, (before.deadLetters.messages ?? 0) + 1);
    });
    await pack.stop({ graceMs: 100 });
  });
});

test('a fresh in-memory bus has no dead-letter queue yet, and says so', async () => {
  const bus = new MemoryBus();
  const console = await startConsole({
    bus,
    logger: testLogger,
    config: parseConsoleConfig({ SWITCHBOARD_CONSOLE_PORT: '0' }),
  });
  const { deadLetters, waitingCommands, failures } = await overviewOf(console);
  assert.equal(deadLetters.messages, null);
  assert.match(deadLetters.note ?? '', /nothing has been dead-lettered/);
  assert.deepEqual(waitingCommands, []);
  assert.deepEqual(failures, []);
  await console.close();
  await bus.close();
});

test('on RabbitMQ, the pack queue and the dead letters come from the broker; waitingCommands is null', async () => {
  const bus = await connectTestBus();
  const console = await startConsole({
    bus,
    logger: testLogger,
    config: parseConsoleConfig({ SWITCHBOARD_CONSOLE_PORT: '0' }),
  });
  const name = uniquePackName('overview');
  const pack = await startTestPack(bus, { name });
  try {
    await eventually(async () => {
      const overview = await overviewOf(console);
      assert.equal(overview.waitingCommands, null);
      const queue = overview.queues.find((each) => each.pack === name);
      assert.deepEqual(queue, { pack: name, queue: packQueueName(name), messages: 0, consumers: 1 });
      assert.equal(typeof overview.deadLetters.messages, 'number');
    });
  } finally {
    await pack.stop({ graceMs: 100 });
    await console.close();
    await bus.close();
  }
});
