import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { AmqpBus } from '../../shared/bus/amqp/amqp-bus.ts';
import { COMMANDS_EXCHANGE, routingKey } from '../../shared/bus/topology.ts';
import { createEnvelope, type Envelope } from '../../shared/envelope.ts';
import { brokerUrl, connectTestBus, EventCollector, uniquePackName } from '../support/bus.ts';
import { spawnNode, TEST_PACK_PROCESS } from '../support/processes.ts';

/** A pack as its own process (`switchboard pack`): health endpoints, SIGTERM, and the grace period. */
describe('a pack process', () => {
  let bus: AmqpBus;
  before(async () => {
    bus = await connectTestBus();
  });
  after(async () => {
    await bus.close();
  });

  async function startPackProcess(env: Record<string, string> = {}) {
    const pack = uniquePackName('proc');
    const events = await EventCollector.start(bus, `${pack}.*`);
    const spawned = spawnNode(TEST_PACK_PROCESS, [pack], { ...process.env, AMQP_URL: brokerUrl(), ...env });
    await events.waitFor((event) => event.name === 'PackStarted', 1, 30_000);
    const send = async (name: string, payload: unknown): Promise<Envelope> => {
      const command = createEnvelope({ kind: 'command', pack, name, payload });
      await bus.publish({ exchange: COMMANDS_EXCHANGE, routingKey: routingKey(pack, name) }, command);
      return command;
    };
    return { pack, events, spawned, send };
  }

  test('serves /healthz, /readyz and /metrics on HEALTH_PORT', async () => {
    const { spawned, events, send } = await startPackProcess({ HEALTH_PORT: '0' });
    const port = Number((await spawned.waitForOutput(/"port":\d+/)).split(':')[1]);
    const command = await send('Post', { channelId: 'C1', message: 'count me' });
    await events.waitFor((event) => event.causationId === command.id);
    assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);
    assert.equal((await fetch(`http://127.0.0.1:${port}/readyz`)).status, 200);
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    assert.match(
      metrics,
      /switchboard_commands_total\{pack="proc-[0-9a-f]+",command="Post",outcome="success"\} 1/,
    );
    assert.match(metrics, /switchboard_bus_connected 1/);
    spawned.child.kill('SIGTERM');
    assert.equal(await spawned.exit, 0);
    await events.stop();
  });

  test('SWITCHBOARD_ALIVE_INTERVAL sets how often the process says it is alive (PackAlive)', async () => {
    const { spawned, events } = await startPackProcess({ SWITCHBOARD_ALIVE_INTERVAL: '0.2' });
    const alive = await events.waitFor((event) => event.name === 'PackAlive', 2, 10_000);
    const [first] = alive;
    assert.equal((first?.payload as { aliveIntervalMs?: number } | undefined)?.aliveIntervalMs, 200);
    spawned.child.kill('SIGTERM');
    assert.equal(await spawned.exit, 0);
    await events.stop();
  });

  test('on SIGTERM it finishes the command in flight, announces PackStopped and exits 0', async () => {
    const { spawned, events, send } = await startPackProcess();
    const command = await send('Slow', { ms: 1500 });
    await new Promise((resolve) => setTimeout(resolve, 400));
    spawned.child.kill('SIGTERM');
    assert.equal(await spawned.exit, 0);
    const [result] = await events.waitFor((event) => event.causationId === command.id);
    assert.equal(result?.name, 'SlowDone');
    const [stopped] = await events.waitFor((event) => event.name === 'PackStopped');
    assert.equal((stopped?.payload as { reason?: string } | undefined)?.reason, 'SIGTERM');
    assert.ok(
      events.events.indexOf(result as Envelope) < events.events.indexOf(stopped as Envelope),
      'the result comes before PackStopped',
    );
    await events.stop();
  });

  test('a command still running when the grace period ends goes back to the queue, not lost', async () => {
    const first = await startPackProcess({ SWITCHBOARD_SHUTDOWN_GRACE: '0.5' });
    const command = await first.send('Slow', { ms: 3000 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    first.spawned.child.kill('SIGTERM');
    assert.equal(await first.spawned.exit, 0);
    assert.equal(first.events.events.filter((event) => event.causationId === command.id).length, 0);
    // A new instance of the same pack picks it up.
    const second = spawnNode(TEST_PACK_PROCESS, [first.pack], { ...process.env, AMQP_URL: brokerUrl() });
    const [result] = await first.events.waitFor((event) => event.causationId === command.id, 1, 30_000);
    assert.equal(result?.name, 'SlowDone');
    assert.equal(
      (result?.payload as { redelivered?: boolean } | undefined)?.redelivered,
      true,
      'the handler is told the command may have run before',
    );
    second.child.kill('SIGTERM');
    assert.equal(await second.exit, 0);
    await first.events.stop();
  });

  test('a pack that cannot go on stops the process with its reason and exit status 1', async () => {
    const spawned = spawnNode(TEST_PACK_PROCESS, [uniquePackName()], {
      ...process.env,
      AMQP_URL: brokerUrl(),
      TEST_PACK_GIVE_UP_AFTER_MS: '300',
    });
    assert.equal(await spawned.exit, 1);
    assert.match(spawned.stdout() + spawned.stderr(), /the token was revoked/);
  });

  test('a bad setting stops it at start with a message naming the variable', async () => {
    const spawned = spawnNode(TEST_PACK_PROCESS, ['anything'], {
      ...process.env,
      SWITCHBOARD_PREFETCH: 'lots',
    });
    assert.equal(await spawned.exit, 78);
    assert.match(spawned.stderr(), /SWITCHBOARD_PREFETCH: "lots" is not a whole number/);
  });
});
