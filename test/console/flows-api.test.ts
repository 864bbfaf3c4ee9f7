import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseConsoleConfig } from '../../console/console-config.ts';
import { startConsole } from '../../console/console-server.ts';
import { MemoryBus } from '../../shared/bus/memory-bus.ts';
import { EVENTS_EXCHANGE, routingKey } from '../../shared/bus/topology.ts';
import { createEnvelope } from '../../shared/envelope.ts';
import type { PackRuntime } from '../../shared/runtime/pack-runtime.ts';
import { testLogger, uniquePackName } from '../support/bus.ts';
import { startTestPack } from '../support/test-pack.ts';
import { api, eventually, type FlowsConsole, startFlowsConsole } from './flows-support.ts';

const echo = readFileSync('flows/echo.json', 'utf8');
const pack = uniquePackName('flows');
/** Two steps on the test pack: post, then, on its result, a command that always fails. */
const chain = JSON.stringify(
  {
    name: 'chain',
    description: 'posts, then breaks',
    steps: [
      {
        id: 'post',
        event: { packName: pack, name: 'Observed' },
        command: {
          packName: pack,
          name: 'Post',
          input: { channelId: 'C1', message: '{{ Event.Payload.text }}' },
        },
      },
      {
        id: 'break',
        dependsOn: ['post'],
        event: { packName: pack, name: 'Posted' },
        command: { packName: pack, name: 'Broken' },
      },
    ],
  },
  null,
  2,
);
const broken = '{"name": "broken", "steps": [{}]}';
const badFilter = JSON.stringify({
  name: 'filters',
  steps: [
    {
      event: { packName: 'slack', name: 'ReceivedMessage' },
      criteria: '{{ Event.Payload.message | nosuchfilter }}',
      command: { packName: 'slack', name: 'SendMessage' },
    },
  ],
});

interface Listing {
  file: string;
  state: string;
  name: string | null;
  version: string | null;
  problems: string[];
  warnings: string[];
  source: string | null;
  sourceInForce: string | null;
  graph: {
    nodes: Array<{ id: string; event: string; command: string; fired: number; failed: number }>;
    edges: Array<{ from: string; to: string }>;
  } | null;
}

async function listing(setup: FlowsConsole, file: string): Promise<Listing> {
  const { status, json } = await api(setup.console, '/api/flows');
  assert.equal(status, 200);
  const found = (json.flows as Listing[]).find((flow) => flow.file === file);
  assert.ok(found, `${file} is not listed`);
  return found;
}

describe('GET /api/flows', () => {
  let setup: FlowsConsole;
  let testPack: PackRuntime;
  before(async () => {
    setup = await startFlowsConsole({
      'echo.json': echo,
      'chain.json': chain,
      'broken.json': broken,
      'filters.json': badFilter,
    });
    testPack = await startTestPack(setup.bus, { name: pack });
  });
  after(async () => {
    await testPack?.stop({ graceMs: 100 });
    await setup?.close();
  });

  test('lists every flow file: loaded ones with name, version and source, refused ones with their problems', async () => {
    const { json } = await api(setup.console, '/api/flows');
    assert.equal(json.flowsDir, setup.flowsDir);
    assert.deepEqual(
      (json.flows as Listing[]).map(({ file, state, name }) => `${file} ${state} ${name}`),
      [
        'broken.json refused null',
        'chain.json loaded chain',
        'echo.json loaded echo',
        'filters.json refused null',
      ],
    );
    const loaded = await listing(setup, 'echo.json');
    assert.equal(loaded.source, echo);
    assert.match(loaded.version ?? '', /^[0-9a-f]{12}$/);
    assert.deepEqual(loaded.problems, []);

    const refused = await listing(setup, 'broken.json');
    assert.equal(refused.source, broken);
    assert.equal(refused.graph, null);
    assert.equal(refused.version, null);
    assert.deepEqual(refused.problems, [
      "broken.json:/steps/0: must have required property 'event'",
      "broken.json:/steps/0: must have required property 'command'",
    ]);
    const filters = await listing(setup, 'filters.json');
    assert.equal(filters.problems.length, 1);
    assert.match(filters.problems[0] ?? '', /^filters\.json:\/steps\/0\/criteria: .*nosuchfilter/);
  });

  test('draws each step as a node, event -> command, with dependsOn as edges', async () => {
    const { graph } = await listing(setup, 'chain.json');
    assert.deepEqual(
      graph?.nodes.map(({ id, event, command }) => `${id}: ${event} -> ${command}`),
      [`post: ${pack}.Observed -> ${pack}.Post`, `break: ${pack}.Posted -> ${pack}.Broken`],
    );
    assert.deepEqual(graph?.edges, [{ from: 'post', to: 'break' }]);
    const single = (await listing(setup, 'echo.json')).graph;
    assert.deepEqual(
      single?.nodes.map(({ id }) => id),
      ['get_message'],
    );
    assert.deepEqual(single?.edges, []);
  });

  test('counts how often each step fired and failed, once the engine ran it', async () => {
    const before = (await listing(setup, 'chain.json')).graph?.nodes;
    assert.deepEqual(
      before?.map(({ fired, failed }) => [fired, failed]),
      [
        [0, 0],
        [0, 0],
      ],
    );
    await setup.bus.publish(
      { exchange: EVENTS_EXCHANGE, routingKey: routingKey(pack, 'Observed') },
      createEnvelope({ kind: 'event', pack, name: 'Observed', payload: { text: 'hello' } }),
    );
    await eventually(async () => {
      const nodes = (await listing(setup, 'chain.json')).graph?.nodes;
      assert.deepEqual(
        nodes?.map(({ id, fired, failed }) => `${id} fired ${fired}, failed ${failed}`),
        ['post fired 1, failed 0', 'break fired 1, failed 1'],
      );
    });
  });

  test('warns of a command no pack announced, as flows check does, while the flow still runs', async () => {
    setup.store.savePackManifest('slack', [{ name: 'SendRichMessage', inputSchema: { type: 'object' } }]);
    const echoListing = await listing(setup, 'echo.json');
    assert.equal(echoListing.state, 'loaded');
    assert.deepEqual(echoListing.warnings, [
      'echo.json:/steps/0/command/name: the slack pack has no command "SendMessage" (it announced: SendRichMessage)',
    ]);
  });

  test('a bad edit is refused with its problems and new text, and the version in force stays drawn', async () => {
    const inForce = await listing(setup, 'chain.json');
    const edited = chain.replace('"Broken"', '"Broken", "input": {"x": "{{ unclosed"}');
    await writeFile(join(setup.flowsDir, '.chain.tmp'), edited);
    await rename(join(setup.flowsDir, '.chain.tmp'), join(setup.flowsDir, 'chain.json'));
    await eventually(async () => assert.equal((await listing(setup, 'chain.json')).state, 'refused'));
    const refused = await listing(setup, 'chain.json');
    assert.equal(refused.source, edited);
    assert.equal(refused.sourceInForce, chain);
    assert.equal(refused.version, inForce.version);
    assert.match(refused.problems[0] ?? '', /^chain\.json:\/steps\/1\/command\/input\/x: /);
    assert.deepEqual(refused.graph?.edges, [{ from: 'post', to: 'break' }]);
  });
});

test('without an engine in the process, /api/flows and /api/flows/test answer 503 engine_not_running', async () => {
  const bus = new MemoryBus();
  const running = await startConsole({
    bus,
    logger: testLogger,
    config: parseConsoleConfig({ SWITCHBOARD_CONSOLE_PORT: '0' }),
  });
  try {
    for (const [path, body] of [
      ['/api/flows', undefined],
      ['/api/flows/test', { event: { pack: 'slack', name: 'ReceivedMessage', payload: {} } }],
    ] as const) {
      const { status, json } = await api(running, path, body);
      assert.equal(status, 503, path);
      assert.equal(json.error?.code, 'engine_not_running');
      assert.match(json.error?.message ?? '', /no flow engine runs/);
    }
  } finally {
    await running.close();
    await bus.close();
  }
});
