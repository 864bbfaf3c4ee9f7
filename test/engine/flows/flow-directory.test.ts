import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import type { LoadedFlow } from '../../../engine/flow.ts';
import { FlowDirectory } from '../../../engine/flows/flow-directory.ts';
import type { FlowProblem } from '../../../engine/flows/parse-flow.ts';

const WAIT_MS = 5000;

const flowJson = (name: string, message = 'hi') =>
  JSON.stringify({
    name,
    steps: [
      {
        id: 'reply',
        event: { packName: 'Slack', name: 'ReceivedMessage' },
        command: { packName: 'Slack', name: 'SendMessage', input: { message } },
      },
    ],
  });
const versionOf = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 12);
const summary = (flows: readonly LoadedFlow[]) => flows.map(({ file, flow }) => `${file}:${flow.name}`);

type Report =
  | { kind: 'change'; flows: readonly LoadedFlow[] }
  | { kind: 'problems'; problems: FlowProblem[] };

/** Records what a FlowDirectory reports, and lets a test wait for the next report of a kind. */
class Reports {
  readonly received: Report[] = [];
  #waiters: Array<() => void> = [];

  readonly onChange = (flows: readonly LoadedFlow[]) => this.#push({ kind: 'change', flows });
  readonly onProblems = (problems: FlowProblem[]) => this.#push({ kind: 'problems', problems });

  /** Resolves with the first unconsumed report of `kind`; fails after WAIT_MS. */
  async next<K extends Report['kind']>(kind: K): Promise<Extract<Report, { kind: K }>> {
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const index = this.received.findIndex((report) => report.kind === kind);
      if (index >= 0) return this.received.splice(index, 1)[0] as Extract<Report, { kind: K }>;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${kind} report within ${WAIT_MS} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  #push(report: Report): void {
    this.received.push(report);
    for (const wake of this.#waiters.splice(0)) wake();
  }
}

/** Writes a file the way a deploy should: a dotfile (ignored) renamed into place, so no reload sees half of it. */
async function put(dir: string, name: string, text: string): Promise<void> {
  await writeFile(join(dir, `.${name}.tmp`), text);
  await rename(join(dir, `.${name}.tmp`), join(dir, name));
}

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'switchboard-flows-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function openDirectory(t: TestContext, dir: string, reports = new Reports()) {
  const directory = await FlowDirectory.open({
    dir,
    onChange: reports.onChange,
    onProblems: reports.onProblems,
    debounceMs: 20,
  });
  t.after(() => directory.close());
  return { directory, reports };
}

test('the initial load keeps the good flows, sorted by file, and reports the bad ones', async (t) => {
  const dir = await tempDir(t);
  const greet = flowJson('greet');
  await writeFile(join(dir, 'b-greet.json'), greet);
  await writeFile(
    join(dir, 'a-wave.yaml'),
    'name: wave\nsteps:\n  - event: {packName: Slack, name: X}\n    command: {packName: Slack, name: Y}\n',
  );
  await writeFile(join(dir, 'c-broken.json'), '{"name": "broken", "steps": [{}]}');

  const { directory, reports } = await openDirectory(t, dir);

  assert.deepEqual(summary(directory.flows()), ['a-wave.yaml:wave', 'b-greet.json:greet']);
  assert.equal(directory.flows()[1]?.version, versionOf(greet));
  const { problems } = await reports.next('problems');
  assert.deepEqual(
    problems.map(({ file, path }) => `${file}${path}`),
    ['c-broken.json/steps/0', 'c-broken.json/steps/0'],
  );
  assert.deepEqual(
    reports.received,
    [],
    'the initial load is read with flows(), not announced with onChange',
  );
});

test('a missing directory is an error naming it', async () => {
  const dir = join(tmpdir(), 'switchboard-no-such-flows-dir');
  await assert.rejects(FlowDirectory.open({ dir, watch: false }), {
    message: `flow directory ${dir} does not exist`,
  });
});

test('a file added later takes effect', async (t) => {
  const dir = await tempDir(t);
  const { directory, reports } = await openDirectory(t, dir);
  assert.deepEqual(directory.flows(), []);

  await put(dir, 'greet.json', flowJson('greet'));

  const { flows } = await reports.next('change');
  assert.deepEqual(flows, [
    { file: 'greet.json', flow: JSON.parse(flowJson('greet')), version: versionOf(flowJson('greet')) },
  ]);
  assert.deepEqual(directory.flows(), flows);
});

test('an edited file replaces its flow with a new version', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'greet.json'), flowJson('greet', 'hi'));
  const { directory, reports } = await openDirectory(t, dir);

  await put(dir, 'greet.json', flowJson('greet', 'hello'));

  const { flows } = await reports.next('change');
  assert.equal(flows.length, 1);
  assert.equal(flows[0]?.version, versionOf(flowJson('greet', 'hello')));
  assert.deepEqual(flows[0]?.flow.steps[0]?.command.input, { message: 'hello' });
  assert.deepEqual(directory.flows(), flows);
});

test('a bad edit is reported with file and path, and the previous version stays until it is fixed', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'greet.json'), flowJson('greet', 'hi'));
  const { directory, reports } = await openDirectory(t, dir);
  const before = directory.flows();

  await put(dir, 'greet.json', flowJson('greet', 'hi').replace('"command"', '"comand"'));

  const { problems } = await reports.next('problems');
  assert.deepEqual(problems, [
    { file: 'greet.json', path: '/steps/0', reason: "must have required property 'command'" },
    { file: 'greet.json', path: '/steps/0', reason: "must NOT have additional properties ('comand')" },
  ]);
  assert.deepEqual(directory.flows(), before);

  await put(dir, 'greet.json', flowJson('greet', 'fixed'));
  const { flows } = await reports.next('change');
  assert.equal(flows[0]?.version, versionOf(flowJson('greet', 'fixed')));
});

test('a JSON syntax error in an edit is reported with its line and column', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'greet.json'), flowJson('greet'));
  const { directory, reports } = await openDirectory(t, dir);

  await put(dir, 'greet.json', '{\n  "name": "greet",\n}');

  const { problems } = await reports.next('problems');
  assert.equal(problems.length, 1);
  assert.equal(problems[0]?.file, 'greet.json');
  assert.equal(problems[0]?.path, '');
  assert.match(problems[0]?.reason ?? '', /^JSON syntax error at line 3, column 1: /);
  assert.deepEqual(summary(directory.flows()), ['greet.json:greet']);
});

test('an added bad file is reported and ignored', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'greet.json'), flowJson('greet'));
  const { directory, reports } = await openDirectory(t, dir);

  await put(
    dir,
    'loop.yaml',
    'name: loop\nsteps:\n  - id: a\n    event: {packName: S, name: E}\n    command: {packName: S, name: C}\n    dependsOn: [a]\n',
  );

  const { problems } = await reports.next('problems');
  assert.deepEqual(problems, [
    { file: 'loop.yaml', path: '/steps/0/dependsOn/0', reason: "step 'a' depends on itself" },
  ]);
  assert.deepEqual(summary(directory.flows()), ['greet.json:greet']);
});

test('a removed file takes its flow away', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'greet.json'), flowJson('greet'));
  await writeFile(join(dir, 'wave.json'), flowJson('wave'));
  const { directory, reports } = await openDirectory(t, dir);

  await unlink(join(dir, 'greet.json'));

  const { flows } = await reports.next('change');
  assert.deepEqual(summary(flows), ['wave.json:wave']);
  assert.deepEqual(summary(directory.flows()), ['wave.json:wave']);
});

test('two files with the same flow name: the first file by name wins, the other is reported', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'b.json'), flowJson('greet', 'from b'));
  await writeFile(join(dir, 'c.json'), flowJson('greet', 'from c'));
  const { directory, reports } = await openDirectory(t, dir);

  assert.deepEqual(summary(directory.flows()), ['b.json:greet']);
  assert.deepEqual((await reports.next('problems')).problems, [
    {
      file: 'c.json',
      path: '/name',
      reason: "flow 'greet' is already defined by b.json; this file is ignored",
    },
  ]);

  await put(dir, 'a.json', flowJson('greet', 'from a'));
  assert.deepEqual(summary((await reports.next('change')).flows), ['a.json:greet']);
  assert.deepEqual(
    (await reports.next('problems')).problems.map(({ file }) => file),
    ['b.json', 'c.json'],
  );

  await unlink(join(dir, 'a.json'));
  await unlink(join(dir, 'b.json'));
  const { flows } = await reports.next('change');
  assert.deepEqual(summary(flows), ['c.json:greet']);
  assert.deepEqual(flows[0]?.flow.steps[0]?.command.input, { message: 'from c' });
});

test('dotfiles, editor files, other documents and subdirectories are not flows', async (t) => {
  const dir = await tempDir(t);
  const ignored = [
    '.hidden.json',
    '.#greet.json',
    'greet.json~',
    '.greet.json.swp',
    'greet.swp',
    'notes.txt',
  ];
  const others = ['audiences.json', 'audiences.yaml', 'audiences.yml'];
  for (const name of [...ignored, ...others]) await writeFile(join(dir, name), '{ not a flow');
  await mkdir(join(dir, 'nested'));
  await writeFile(join(dir, 'nested', 'deep.json'), flowJson('deep'));
  const { directory, reports } = await openDirectory(t, dir);
  assert.deepEqual(directory.flows(), []);

  // Edits to ignored files raise nothing: the first report after them is the real flow's.
  await writeFile(join(dir, 'greet.json~'), '{ still not a flow');
  await writeFile(join(dir, 'audiences.yaml'), 'still: [not a flow');
  await put(dir, 'greet.json', flowJson('greet'));

  assert.deepEqual(summary((await reports.next('change')).flows), ['greet.json:greet']);
  assert.deepEqual(reports.received, [], 'no problems were reported');
});

test('without watching, the directory is read once', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'greet.json'), flowJson('greet'));
  const directory = await FlowDirectory.open({ dir, watch: false });
  t.after(() => directory.close());
  assert.deepEqual(summary(directory.flows()), ['greet.json:greet']);
});

test('files() tells each file: its text, its current problems, and the version of it in force', async (t) => {
  const dir = await tempDir(t);
  const greet = flowJson('greet');
  await writeFile(join(dir, 'greet.json'), greet);
  await writeFile(join(dir, 'broken.json'), '{"name": "broken", "steps": [{}]}');
  const { directory, reports } = await openDirectory(t, dir);
  await reports.next('problems');

  const [broken, good] = directory.files();
  assert.equal(broken?.file, 'broken.json');
  assert.equal(broken?.text, '{"name": "broken", "steps": [{}]}');
  assert.deepEqual(
    broken?.problems.map(({ path, reason }) => `${path}: ${reason}`),
    ["/steps/0: must have required property 'event'", "/steps/0: must have required property 'command'"],
  );
  assert.equal(broken?.inForce, undefined);
  assert.deepEqual(good, {
    file: 'greet.json',
    text: greet,
    problems: [],
    inForce: { loaded: directory.flows()[0], text: greet },
  });

  // A bad edit: the new text and its problems, while the last good version and its text stay in force.
  const bad = greet.replace('"command"', '"comand"');
  await put(dir, 'greet.json', bad);
  await reports.next('problems');
  const edited = directory.files()[1];
  assert.equal(edited?.text, bad);
  assert.equal(edited?.problems.length, 2);
  assert.equal(edited?.inForce?.text, greet);
  assert.equal(edited?.inForce?.loaded.version, versionOf(greet));

  await put(dir, 'greet.json', flowJson('greet', 'fixed'));
  await reports.next('change');
  assert.deepEqual(directory.files()[1]?.problems, []);
  assert.equal(directory.files()[1]?.inForce?.text, flowJson('greet', 'fixed'));

  // A removed file is no longer listed (wave.json's arrival tells the directory was read again).
  await unlink(join(dir, 'broken.json'));
  await put(dir, 'wave.json', flowJson('wave'));
  await reports.next('change');
  assert.deepEqual(
    directory.files().map(({ file }) => file),
    ['greet.json', 'wave.json'],
  );
});

test('files() keeps telling a problem that is reported once: a name clash, a failed check', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'b.json'), flowJson('greet', 'from b'));
  await writeFile(join(dir, 'c.json'), flowJson('greet', 'from c'));
  const reports = new Reports();
  const directory = await FlowDirectory.open({
    dir,
    onChange: reports.onChange,
    onProblems: reports.onProblems,
    debounceMs: 20,
    validate: (flow, file) =>
      flow.name === 'checked' ? [{ file, path: '/steps/0/criteria', reason: 'no such filter' }] : [],
  });
  t.after(() => directory.close());
  await reports.next('problems');

  // Another file changes: the directory is read again, and the unchanged clash is not reported again.
  await put(dir, 'd.json', flowJson('checked'));
  assert.deepEqual(
    (await reports.next('problems')).problems.map(({ file }) => file),
    ['d.json'],
  );
  const files = directory.files();
  assert.deepEqual(
    files.map(({ file, problems, inForce }) => ({
      file,
      problems: problems.map(({ path, reason }) => `${path}: ${reason}`),
      inForce: inForce?.loaded.flow.name,
    })),
    [
      { file: 'b.json', problems: [], inForce: 'greet' },
      {
        file: 'c.json',
        problems: ["/name: flow 'greet' is already defined by b.json; this file is ignored"],
        inForce: undefined,
      },
      { file: 'd.json', problems: ['/steps/0/criteria: no such filter'], inForce: undefined },
    ],
  );
  assert.equal(files[1]?.text, flowJson('greet', 'from c'));
});
