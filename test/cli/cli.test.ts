import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { MATTERMOST_VARIABLES } from '../../packs/mattermost/mattermost-config.ts';
import type { AmqpBus } from '../../shared/bus/amqp/amqp-bus.ts';
import { packQueueName } from '../../shared/bus/topology.ts';
import { listVariables, plainText } from '../../shared/config-variables.ts';
import type { PackRuntime } from '../../shared/runtime/pack-runtime.ts';
import { brokerUrl, connectTestBus, EventCollector, uniquePackName } from '../support/bus.ts';
import { CLI, runCli, spawnNode } from '../support/processes.ts';
import { FakeOutsideSystem, startTestPack } from '../support/test-pack.ts';

describe('switchboard --help', () => {
  for (const command of ['all', 'pack', 'engine', 'send', 'tail']) {
    test(`switchboard ${command} --help explains usage, options and settings`, async () => {
      const { code, stdout } = await runCli([command, '--help']);
      assert.equal(code, 0);
      assert.match(stdout, new RegExp(`^Usage: switchboard ${command}`));
      assert.match(stdout, /AMQP_URL +RabbitMQ URL \(default: amqp:\/\/localhost\)/);
    });
  }

  test('switchboard --help lists the commands and exit codes', async () => {
    const { code, stdout } = await runCli(['--help']);
    assert.equal(code, 0);
    for (const command of ['all', 'pack', 'send', 'tail'])
      assert.match(stdout, new RegExp(`\\n  ${command} `));
    assert.match(stdout, /Exit status:/);
  });

  test('an unknown command exits 64 and says so', async () => {
    const { code, stderr } = await runCli(['frobnicate']);
    assert.equal(code, 64);
    assert.match(stderr, /unknown command "frobnicate"/);
  });
});

describe('switchboard send and tail', () => {
  let bus: AmqpBus;
  let runtime: PackRuntime;
  const pack = uniquePackName('cli');
  const outside = new FakeOutsideSystem();
  const env = { ...process.env, AMQP_URL: brokerUrl() };

  before(async () => {
    bus = await connectTestBus();
    runtime = await startTestPack(bus, { name: pack, outside });
  });
  after(async () => {
    await runtime.stop({ graceMs: 1000 });
    await bus.close();
  });

  test('send --wait prints the result event and exits 0 on success', async () => {
    const { code, stdout } = await runCli(
      ['send', pack, 'Post', '--input', '{"channelId":"C1","message":"hi from the CLI"}', '--wait'],
      env,
    );
    assert.equal(code, 0);
    const result = JSON.parse(stdout);
    assert.equal(result.name, 'Posted');
    assert.equal(result.payload.message, 'hi from the CLI');
    assert.equal(outside.posts.at(-1)?.message, 'hi from the CLI');
  });

  test('send --wait exits 1 on a failure event', async () => {
    const { code, stdout } = await runCli(['send', pack, 'Broken', '--wait'], env);
    assert.equal(code, 1);
    assert.equal(JSON.parse(stdout).payload.errorCode, 'not_found');
  });

  test('send --input - reads the payload from standard input', async () => {
    const { code, stdout } = await runCli(
      ['send', pack, 'Post', '--input', '-', '--wait'],
      env,
      '{"channelId":"C2","message":"piped"}',
    );
    assert.equal(code, 0);
    assert.equal(JSON.parse(stdout).payload.channelId, 'C2');
  });

  test('send --wait exits 2 when no result arrives in time', async () => {
    const idle = uniquePackName('idle');
    await bus.declareQueue(packQueueName(idle), []);
    const { code, stderr } = await runCli(['send', idle, 'Post', '--wait', '--timeout', '0.5'], env);
    assert.equal(code, 2);
    assert.match(stderr, /no result for command .* within 0.5 s/);
  });

  test('send refuses, exit 69, a pack that never started on this broker', async () => {
    const { code, stderr } = await runCli(['send', 'no-such-pack', 'Post'], env);
    assert.equal(code, 69);
    assert.match(stderr, /no instance of the "no-such-pack" pack has ever started/);
  });

  test('send without --wait prints the command id, and the pack runs it', async () => {
    const events = await EventCollector.start(bus, `${pack}.Posted`);
    const { code, stdout } = await runCli(
      ['send', pack, 'Post', '--input', '{"channelId":"C3","message":"fire"}'],
      env,
    );
    assert.equal(code, 0);
    const id = stdout.trim();
    assert.match(id, /^[0-9a-f-]{36}$/);
    await events.waitFor((event) => event.causationId === id);
    await events.stop();
  });

  test('send with input that is not JSON exits 64 and says why', async () => {
    const { code, stderr } = await runCli(['send', pack, 'Post', '--input', '{nope'], env);
    assert.equal(code, 64);
    assert.match(stderr, /--input is not JSON/);
  });

  test('a bad AMQP_URL exits 78 naming the variable', async () => {
    const { code, stderr } = await runCli(['send', pack, 'Post'], { ...env, AMQP_URL: 'http://localhost' });
    assert.equal(code, 78);
    assert.match(stderr, /AMQP_URL: "http:\/\/localhost" is not an amqp/);
  });

  test('an unreachable broker exits 69 and says where it looked', async () => {
    const { code, stderr } = await runCli(['send', pack, 'Post'], {
      ...env,
      AMQP_URL: 'amqp://user:secret@127.0.0.1:1',
    });
    assert.equal(code, 69);
    assert.match(stderr, /cannot reach RabbitMQ at amqp:\/\/user:\*\*\*@127.0.0.1:1/);
    assert.doesNotMatch(stderr, /secret/, 'the password is not printed');
  });

  test('tail prints matching events as JSON lines when piped', async () => {
    const tail = spawnNode(CLI, ['tail', `${pack}.*`], env);
    await tail.waitForOutput(/tailing/);
    await runtime.emit('Observed', { n: 1 });
    const line = await tail.waitForOutput(/\{.*"name":"Observed".*\}/);
    const event = JSON.parse(line);
    assert.equal(event.pack, pack);
    assert.deepEqual(event.payload, { n: 1 });
    tail.child.kill('SIGINT');
    assert.equal(await tail.exit, 0);
  });
});

describe('LOG_FORMAT', () => {
  test('pretty gives readable lines, as a terminal gets by default; piped, the lines are JSON', async () => {
    const { AMQP_URL: _unused, ...withoutBroker } = process.env;
    const dataDir = await mkdtemp(join(tmpdir(), 'sb-pretty-'));
    const pretty = spawnNode(CLI, ['all'], {
      ...withoutBroker,
      SWITCHBOARD_DATA_DIR: dataDir,
      SWITCHBOARD_CONSOLE_PORT: '0',
      LOG_FORMAT: 'pretty',
    });
    const line = await pretty.waitForOutput(/INFO[^\n]*\(switchboard\): Switchboard is running\./);
    assert.doesNotMatch(line, /^\{/);
    await pretty.waitForOutput(/engine started/);
    pretty.child.kill('SIGTERM');
    assert.equal(await pretty.exit, 0);
    const piped = spawnNode(CLI, ['all'], {
      ...withoutBroker,
      SWITCHBOARD_DATA_DIR: dataDir,
      SWITCHBOARD_CONSOLE_PORT: '0',
    });
    await piped.waitForOutput(/\{"level":30,[^\n]*"msg":"Switchboard is running\./);
    await piped.waitForOutput(/"msg":"engine started"/);
    piped.child.kill('SIGTERM');
    assert.equal(await piped.exit, 0);
    await rm(dataDir, { recursive: true });
  });
});

describe('switchboard pack <name> --help', () => {
  test("lists that pack's own variables with their defaults, from its config parser's definitions", async () => {
    const { code, stdout } = await runCli(['pack', 'mattermost', '--help']);
    assert.equal(code, 0);
    for (const variable of listVariables(MATTERMOST_VARIABLES)) {
      const row = stdout.split('\n').find((line) => line.trimStart().startsWith(`${variable.name} `));
      assert.ok(row, `${variable.name} is listed`);
      assert.ok(row.includes(plainText(variable.default)), `${variable.name} shows its default: ${row}`);
    }
    assert.doesNotMatch(stdout, /SLACK_BOT_TOKEN/, "another pack's variables are left out");
  });
});

describe('switchboard all (npm start)', () => {
  test('with no configuration it starts on the in-memory bus, stays up, says what is missing, and stops on SIGTERM', async () => {
    const { AMQP_URL: _unused, ...withoutBroker } = process.env;
    const dataDir = await mkdtemp(join(tmpdir(), 'sb-all-'));
    const all = spawnNode(CLI, ['all'], {
      ...withoutBroker,
      SWITCHBOARD_DATA_DIR: dataDir,
      SWITCHBOARD_CONSOLE_PORT: '0',
      // Not enough to run Slack, but a secret the console must not show.
      SLACK_BOT_TOKEN: 'xoxb-never-shown-4711',
    });
    await all.waitForOutput(/in-memory bus/);
    // Start-up ends with a summary: the bus, the flows, and for each pack not running only what would
    // make it run, not every variable it reads.
    const summary = JSON.parse(
      await all.waitForOutput(/\{[^\n]*"msg":"Switchboard is running\.[^\n]*\}/),
    ).msg;
    assert.match(summary, /bus: +in-memory/);
    assert.match(summary, /flows: +\d+ loaded from [^\n]*: [^\n]*echo/);
    const slack = summary.split('\n').find((line: string) => line.trim().startsWith('slack:'));
    assert.equal(
      slack?.trim(),
      'slack: not configured; set SLACK_BOT_TOKEN and SLACK_APP_TOKEN (or SLACK_SIGNING_SECRET) to run it',
    );
    assert.match(summary, /notify: running/);
    // The console is on by default and its URL is in the summary; it sees the packs of the process.
    const consoleUrl = /console: (http:\/\/127\.0\.0\.1:\d+)$/m.exec(summary)?.[1];
    assert.ok(consoleUrl, `the summary names the console's URL:\n${summary}`);
    const { packs } = (await (await fetch(`${consoleUrl}/api/packs`)).json()) as {
      packs: Array<{ name: string; state: string }>;
    };
    assert.ok(
      packs.some(
        (pack: { name: string; state: string }) => pack.name === 'notify' && pack.state === 'running',
      ),
      'the console lists the notify pack as running',
    );
    const settings = await (await fetch(`${consoleUrl}/api/settings`)).text();
    assert.doesNotMatch(settings, /xoxb-never-shown-4711/);
    assert.match(settings, /"name":"SLACK_BOT_TOKEN","shown":"set \(hidden\)"/);
    assert.match(settings, /"name":"SWITCHBOARD_DATA_DIR","shown":"[^"]*sb-all-/);
    await all.waitForOutput(/"msg":"engine started"/);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    assert.equal(all.child.exitCode, null, 'still running');
    all.child.kill('SIGTERM');
    assert.equal(await all.exit, 0);
    await rm(dataDir, { recursive: true });
  });
});
