import assert from 'node:assert/strict';
import { test } from 'node:test';
import { COMMANDS_EXCHANGE, routingKey } from '../../../shared/bus/topology.ts';
import { createEnvelope } from '../../../shared/envelope.ts';
import { ChannelPacer } from '../../../shared/runtime/channel-pacer.ts';
import { defineCommand, definePack } from '../../../shared/runtime/pack-definition.ts';
import { connectTestBus, EventCollector, uniquePackName } from '../../support/bus.ts';
import { startPackRuntime } from '../../support/test-pack.ts';

/** A pack shaped like the chat packs: each Post waits for its channel's turn, one a second. */
function pacedPack(name: string) {
  const pacer = new ChannelPacer({ burst: 1, perSecond: 1 });
  return definePack({
    name,
    version: '0.0.1-test',
    description: 'posts paced per channel',
    commands: {
      Post: defineCommand<{ channelId: string; n: number }>({
        description: 'posts in its channel lane',
        inputSchema: { type: 'object', required: ['channelId', 'n'] },
        success: 'Posted',
        failure: 'PostFailed',
        handler: async (input, context) => {
          await pacer.schedule(input.channelId, async () => {}, context);
          return input;
        },
      }),
    },
  });
}

test('the wait for a channel does not count as run time, and has a limit of its own', async () => {
  const bus = await connectTestBus();
  const name = uniquePackName('lane');
  const events = await EventCollector.start(bus, `${name}.*`);
  const runtime = await startPackRuntime(bus, pacedPack(name), {
    prefetch: 50,
    commandTimeoutMs: 500,
    laneWaitTimeoutMs: 1500,
  });
  try {
    const sent = Date.now();
    const posts = [
      ['C1', 1],
      ['C1', 2],
      ['C1', 3],
      ['C2', 4],
    ].map(([channelId, n]) =>
      createEnvelope({ kind: 'command', pack: name, name: 'Post', payload: { channelId, n } }),
    );
    for (const command of posts) {
      await bus.publish({ exchange: COMMANDS_EXCHANGE, routingKey: routingKey(name, 'Post') }, command);
    }
    const results = await events.waitFor(
      (event) => event.name === 'Posted' || event.name === 'PostFailed',
      4,
    );
    const outcome = (n: number) => {
      const result = results.find((event) => (event.payload as { n: number }).n === n);
      const payload = result?.payload as { errorCode?: string; error?: string };
      return payload.errorCode ? `${payload.errorCode}: ${payload.error}` : result?.name;
    };
    assert.equal(outcome(1), 'Posted');
    assert.equal(
      outcome(2),
      'Posted',
      'waited 1 s for C1: past the run time limit, within the lane wait limit',
    );
    assert.match(outcome(3) ?? '', /^timeout: .*waited .*1\.5 s/, 'its turn would have come after 2 s');
    assert.equal(outcome(4), 'Posted');
    assert.ok(Date.now() - sent < 1900, 'the command past its lane wait limit failed at the limit');
  } finally {
    await runtime.stop({ graceMs: 1000 });
    await events.stop();
    await bus.close();
  }
});
