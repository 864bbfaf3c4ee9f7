import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { parseNotifyConfig } from '../../../packs/notify/notify-config.ts';
import { createNotifyPack } from '../../../packs/notify/notify-pack.ts';
import { MemoryBus } from '../../../shared/bus/memory-bus.ts';
import { COMMANDS_EXCHANGE, routingKey } from '../../../shared/bus/topology.ts';
import { parseConfig } from '../../../shared/config.ts';
import { createEnvelope } from '../../../shared/envelope.ts';
import { createLogger } from '../../../shared/observability/logger.ts';
import { Metrics } from '../../../shared/observability/metrics.ts';
import { startPack } from '../../../shared/runtime/process.ts';
import { EventCollector } from '../../support/bus.ts';
import { createTestPack } from '../../support/test-pack.ts';

/**
 * The keys of a JSON line's top-level object, duplicates included: JSON.parse keeps only the last of
 * two equal keys, so they are read off the text.
 */
function topLevelKeys(line: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  for (let i = 0; i < line.length; i++) {
    const char = line[i];
    if (char === '"') {
      let end = i + 1;
      while (line[end] !== '"') end += line[end] === '\\' ? 2 : 1;
      const text = line.slice(i, end + 1);
      i = end;
      if (depth === 1 && line[end + 1] === ':') keys.push(JSON.parse(text) as string);
    } else if (char === '{' || char === '[') depth++;
    else if (char === '}' || char === ']') depth--;
  }
  return keys;
}

test('topLevelKeys sees a key written twice, and only top-level keys', () => {
  assert.deepEqual(topLevelKeys('{"a":1,"b":{"a":"x\\"y:"},"c":["a",{"a":2}],"a":3}'), ['a', 'b', 'c', 'a']);
});

test('no log line of a pack run by the process runtime carries a key twice', async () => {
  let output = '';
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      output += chunk.toString();
      callback();
    },
  });
  const logger = createLogger({ level: 'trace', name: 'switchboard', destination });
  const dir = await mkdtemp(join(tmpdir(), 'sb-log-keys-'));
  const bus = new MemoryBus();
  const events = await EventCollector.start(bus, '#');
  const parts = { bus, metrics: new Metrics(), logger, config: parseConfig({}) };
  const runtimes = [
    await startPack(await createNotifyPack(parseNotifyConfig({ SWITCHBOARD_FLOWS_DIR: dir })), parts),
    await startPack(createTestPack('t-log-keys'), parts),
  ];
  try {
    const commands = [
      createEnvelope({
        kind: 'command',
        pack: 'notify',
        name: 'Notify',
        payload: { to: '#x', message: 'hi' },
      }),
      createEnvelope({ kind: 'command', pack: 't-log-keys', name: 'Crash', payload: {} }),
    ];
    for (const command of commands) {
      await bus.publish(
        { exchange: COMMANDS_EXCHANGE, routingKey: routingKey(command.pack, command.name) },
        command,
      );
    }
    await events.waitFor((event) => commands.some((command) => command.id === event.causationId), 2);
  } finally {
    for (const runtime of runtimes) await runtime.stop({ graceMs: 1000 });
    await events.stop();
    await bus.close();
    await rm(dir, { recursive: true, force: true });
  }
  const lines = output.split('\n').filter((line) => line !== '');
  assert.ok(
    lines.some((line) => line.includes('"msg":"pack started"')),
    output,
  );
  assert.ok(
    lines.some((line) => line.includes('"msg":"command handler failed"')),
    output,
  );
  for (const line of lines) {
    const keys = topLevelKeys(line);
    const twice = keys.filter((key, index) => keys.indexOf(key) !== index);
    assert.deepEqual(twice, [], `a key written twice: ${line}`);
    if (line.includes('"pack started"')) assert.ok(keys.includes('pack'), `pack started says which: ${line}`);
  }
});
