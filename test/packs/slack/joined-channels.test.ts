import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { JoinedChannels } from '../../../packs/slack/joined-channels.ts';

test('joined channels persist in channels.json across a restart', async () => {
  const stateDir = await mkdtemp(join(tmpdir(), 'sb-slack-'));
  const first = await JoinedChannels.open({ stateDir });
  await first.add('C2');
  await first.add('C1');
  await first.remove('C2');
  assert.equal(await readFile(join(stateDir, 'channels.json'), 'utf8'), '["C1"]\n');
  const second = await JoinedChannels.open({ stateDir });
  assert.deepEqual(second.list(), ['C1']);
  await rm(stateDir, { recursive: true });
});

test('a corrupt channels.json is set aside and reported, not fatal', async () => {
  const stateDir = await mkdtemp(join(tmpdir(), 'sb-slack-'));
  await writeFile(join(stateDir, 'channels.json'), '["C1", ');
  const reports: string[] = [];
  const record = await JoinedChannels.open({
    stateDir,
    onCorrupt: (file, reason) => reports.push(`${file}: ${reason}`),
  });
  assert.deepEqual(record.list(), []);
  assert.equal(reports.length, 1);
  assert.match(reports[0] as string, /channels\.json\.corrupt-\d+: /);
  assert.ok((await readdir(stateDir)).some((file) => file.startsWith('channels.json.corrupt-')));
  await record.add('C9');
  assert.deepEqual((await JoinedChannels.open({ stateDir })).list(), ['C9']);
  await rm(stateDir, { recursive: true });
});
