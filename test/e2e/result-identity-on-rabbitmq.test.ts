import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import amqp from 'amqplib';
import { COMMANDS_EXCHANGE, routingKey } from '../../shared/bus/topology.ts';
import { createEnvelope, type Envelope } from '../../shared/envelope.ts';
import { brokerUrl, connectTestBus, EventCollector, uniquePackName } from '../support/bus.ts';
import { spawnNode, TEST_PACK_PROCESS } from '../support/processes.ts';

/**
 * Two instances of a pack as separate processes; one is killed with SIGKILL in the middle of a stream of
 * commands, and the other answers what it left unacknowledged. Whoever answers, and however often, each
 * command's result is one event: consumers that drop a repeated event id see one result per command.
 */
test('a command answered again by another instance after a kill -9 keeps its one result event id', async () => {
  const pack = uniquePackName('kill');
  const bus = await connectTestBus();
  const events = await EventCollector.start(bus, `${pack}.*`);
  const amqpConnection = await amqp.connect(brokerUrl());
  const channel = await amqpConnection.createChannel();
  const instances: Array<ReturnType<typeof spawnNode>> = [];
  const start = async (instance: string) => {
    const spawned = spawnNode(TEST_PACK_PROCESS, [pack], {
      ...process.env,
      AMQP_URL: brokerUrl(),
      SWITCHBOARD_LABELS: `instance=${instance}`,
      SWITCHBOARD_PREFETCH: '10',
    });
    instances.push(spawned);
    await events.waitFor(
      (event) => event.name === 'PackStarted' && event.labels?.instance === instance,
      1,
      30_000,
    );
    return spawned;
  };
  const send = async (payload: { ms: number }, replyTo?: string) => {
    const command = createEnvelope({ kind: 'command', pack, name: 'Slow', payload });
    await bus.publish({ exchange: COMMANDS_EXCHANGE, routingKey: routingKey(pack, 'Slow') }, command, {
      replyTo,
    });
    return command;
  };
  const resultsOf = (command: Envelope) => events.events.filter((event) => event.causationId === command.id);
  try {
    const a = await start('a');
    // A reply queue that refuses every message holds one command at the moment that makes a second answer:
    // its result event is out, but instance A cannot acknowledge it (the reply is never confirmed).
    const { queue: refusingReplies } = await channel.assertQueue('', {
      exclusive: true,
      arguments: { 'x-max-length': 0, 'x-overflow': 'reject-publish' },
    });
    const held = await send({ ms: 10 }, refusingReplies);
    await events.waitFor((event) => event.causationId === held.id);
    await start('b');

    const stream: Envelope[] = [];
    for (let i = 0; i < 300; i++) stream.push(await send({ ms: 100 }));
    await events.waitFor((event) => stream.some((command) => command.id === event.causationId), 60, 30_000);
    a.child.kill('SIGKILL');
    await a.exit;
    // Instance B's reply to the held command can now be delivered (to no queue), so B acknowledges it.
    await channel.deleteQueue(refusingReplies);

    const all = [held, ...stream];
    for (let waited = 0; all.some((command) => resultsOf(command).length === 0); waited += 100) {
      assert.ok(waited < 60_000, 'every command gets a result');
      await sleep(100);
    }
    await sleep(1500);
    assert.deepEqual(
      new Set(resultsOf(held).map((event) => event.labels?.instance)),
      new Set(['a', 'b']),
      'both instances answered the held command',
    );
    const ids = (command: Envelope) => new Set(resultsOf(command).map((event) => event.id)).size;
    const repeated = all.filter((command) => ids(command) !== 1);
    assert.deepEqual(
      repeated.map((command) => `${command.id}: ${ids(command)} result ids`),
      [],
      'one result id per command',
    );
  } finally {
    for (const instance of instances) instance.child.kill('SIGKILL');
    await Promise.all(instances.map((instance) => instance.exit));
    await amqpConnection.close().catch(() => {});
    await events.stop();
    await bus.close();
  }
});
