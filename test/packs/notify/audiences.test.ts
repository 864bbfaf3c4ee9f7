import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { Ajv } from 'ajv';
import audiencesSchema from '../../../docs/audiences.schema.json' with { type: 'json' };
import { type AudienceProblem, type Audiences, parseAudiences } from '../../../packs/notify/audiences.ts';
import { AudiencesFile, findAudiencesFile } from '../../../packs/notify/audiences-file.ts';

const WAIT_MS = 5000;

/** The mapping of issue 8. */
const ISSUE_MAPPING = {
  '#admins': {
    matrix: ['!room:server', '#ops:server'],
    slack: ['#alerts', 'C123'],
    mattermost: ['team/ops'],
  },
  '#oncall': { include: ['#admins'], slack: ['@U777'] },
};
const ADMINS = [
  'matrix !room:server',
  'matrix #ops:server',
  'slack #alerts',
  'slack C123',
  'mattermost team/ops',
];

/** Parses a mapping that must be good. */
function audiencesOf(mapping: unknown, file = 'audiences.json'): Audiences {
  const text = file.endsWith('.json') ? JSON.stringify(mapping) : String(mapping);
  const parsed = parseAudiences(text, file);
  if (!parsed.ok) assert.fail(`unexpected problems: ${JSON.stringify(parsed.problems)}`);
  return parsed.audiences;
}

/** The targets of `to` as `pack channel` lines, and the unknown names. */
function resolved(audiences: Audiences, to: string | string[]) {
  const { targets, unknown } = audiences.resolve(to);
  return { targets: targets.map(({ pack, channel }) => `${pack} ${channel}`), unknown };
}

/** The problems of a mapping that must be bad, as `path: reason`. */
function problemsOf(text: string, file = 'audiences.json'): string[] {
  const parsed = parseAudiences(text, file);
  if (parsed.ok) assert.fail('expected problems, the mapping parsed');
  for (const problem of parsed.problems) assert.equal(problem.file, file);
  return parsed.problems.map(({ path, reason }) => `${path}: ${reason}`);
}

test("the seed's mapping: a message to #admins reaches the Matrix room and the e-mail address", () => {
  const audiences = audiencesOf({
    '#admins': { matrix: ['!PxMWbvomtRqGOTsaDK:half-shot.uk'], email: ['will@half-shot.uk'] },
  });
  assert.deepEqual(audiences.resolve('#admins'), {
    targets: [
      { pack: 'matrix', channel: '!PxMWbvomtRqGOTsaDK:half-shot.uk' },
      { pack: 'email', channel: 'will@half-shot.uk' },
    ],
    unknown: [],
  });
});

test("the issue's mapping: #admins fans out to every channel, #oncall adds its own first, then #admins'", () => {
  const audiences = audiencesOf(ISSUE_MAPPING);
  assert.deepEqual(resolved(audiences, '#admins'), { targets: ADMINS, unknown: [] });
  assert.deepEqual(resolved(audiences, '#oncall'), { targets: ['slack @U777', ...ADMINS], unknown: [] });
  assert.deepEqual(audiences.groups(), ['#admins', '#oncall']);
});

test('a target reached through two groups appears once, in its first place', () => {
  const audiences = audiencesOf({
    '#admins': { slack: ['#alerts', 'C123'] },
    '#devs': { slack: ['#dev', '#alerts'], matrix: ['!dev:server'] },
    '#everyone': { include: ['#admins', '#devs'], slack: ['C123'] },
  });
  assert.deepEqual(resolved(audiences, ['#admins', '#devs']).targets, [
    'slack #alerts',
    'slack C123',
    'slack #dev',
    'matrix !dev:server',
  ]);
  assert.deepEqual(resolved(audiences, '#everyone').targets, [
    'slack C123',
    'slack #alerts',
    'slack #dev',
    'matrix !dev:server',
  ]);
  assert.deepEqual(
    resolved(audiences, ['#everyone', '#admins', '#everyone']).targets,
    resolved(audiences, '#everyone').targets,
  );
});

test('includes are followed transitively and a diamond reaches its shared group once', () => {
  const audiences = audiencesOf({
    '#base': { slack: ['C1'] },
    '#left': { include: ['#base'], slack: ['C2'] },
    '#right': { include: ['#base'], matrix: ['!r:s'] },
    '#top': { include: ['#left', '#right'] },
  });
  assert.deepEqual(resolved(audiences, '#top').targets, ['slack C2', 'slack C1', 'matrix !r:s']);
});

test('a group may be named with or without its #; names are case-sensitive', () => {
  const audiences = audiencesOf(ISSUE_MAPPING);
  assert.deepEqual(resolved(audiences, 'admins'), { targets: ADMINS, unknown: [] });
  assert.deepEqual(resolved(audiences, [' #admins ', 'oncall']).targets, [...ADMINS, 'slack @U777']);
  assert.deepEqual(resolved(audiences, '#Admins'), { targets: [], unknown: ['#Admins'] });
});

test('unknown groups are reported as given, each once, and the known ones still resolve', () => {
  const audiences = audiencesOf(ISSUE_MAPPING);
  assert.deepEqual(resolved(audiences, ['#admins', '#nobody', 'ghosts', '#nobody']), {
    targets: ADMINS,
    unknown: ['#nobody', 'ghosts'],
  });
  assert.deepEqual(audiencesOf({}).resolve('#admins'), { targets: [], unknown: ['#admins'] });
  assert.deepEqual(audiencesOf(ISSUE_MAPPING).resolve([]), { targets: [], unknown: [] });
});

test('pack names are matched case-insensitively and given in lower case', () => {
  const audiences = audiencesOf({ '#admins': { Slack: ['C1'], slack: ['C1', 'C2'], MATRIX: ['!r:s'] } });
  assert.deepEqual(resolved(audiences, '#admins').targets, ['slack C1', 'slack C2', 'matrix !r:s']);
});

test('a group with no keys reaches nobody; $schema is allowed and is not a group', () => {
  const audiences = audiencesOf({ $schema: './audiences.schema.json', '#quiet': {} });
  assert.deepEqual(audiences.groups(), ['#quiet']);
  assert.deepEqual(audiences.resolve('#quiet'), { targets: [], unknown: [] });
});

test('an include cycle is rejected, spelling the cycle at the include that closes it', () => {
  const mapping = {
    '#a': { include: ['#b'], slack: ['C1'] },
    '#b': { include: ['#c'] },
    '#c': { include: ['#a'] },
    '#self': { include: ['#self'] },
  };
  assert.deepEqual(problemsOf(JSON.stringify(mapping)), [
    '/#c/include/0: include cycle: #a -> #b -> #c -> #a',
    '/#self/include/0: include cycle: #self -> #self',
  ]);
});

test('an include naming no group of the file is rejected, naming both groups', () => {
  const mapping = { '#oncall': { include: ['#admins', '#ops'], slack: ['@U777'] }, '#ops': {} };
  assert.deepEqual(problemsOf(JSON.stringify(mapping)), [
    '/#oncall/include/0: #oncall includes #admins, which is not a group of this file',
  ]);
});

test('schema problems point at the offending key or value with a JSON pointer', () => {
  const mapping = {
    admins: { slack: ['C1'] },
    '#ops': {
      'Not A Pack': ['x'],
      Include: ['#admins'],
      slack: 'C1',
      matrix: ['', 7],
      include: ['admins'],
    },
    '#a/b': { include: ['#x', '#x'] },
  };
  assert.deepEqual(problemsOf(JSON.stringify(mapping)), [
    "/admins: 'admins' is not a group name: a group name starts with '#' and has no whitespace",
    "/#ops/Not A Pack: 'Not A Pack' is not a pack name: use letters, digits and '-', starting with a letter",
    "/#ops/Include: write 'include' in lower case",
    "/#ops/include/0: 'admins' is not a group name: a group name starts with '#' and has no whitespace",
    '/#ops/slack: must be array',
    '/#ops/matrix/0: must not be empty',
    '/#ops/matrix/1: must be string',
    "/#a~1b/include/1: '#x' is already listed at index 0",
  ]);
  assert.deepEqual(problemsOf('["#admins"]'), [': must be object']);
});

test('a JSON syntax error gives its line and column', () => {
  assert.deepEqual(problemsOf('{\n  "#admins": {"slack": ["C1"]}\n  "#ops": {}\n}'), [
    ": JSON syntax error at line 3, column 3: Expected ',' or '}' after property value",
  ]);
  assert.deepEqual(problemsOf(''), [': JSON syntax error: Unexpected end of JSON input']);
});

test('YAML (.yaml or .yml) gives the same mapping as its JSON twin', () => {
  const yaml = `# Who hears about what.
"#admins":
  matrix: ["!room:server", "#ops:server"]
  slack: ["#alerts", C123]
  mattermost: [team/ops]
"#oncall":
  include: ["#admins"]
  slack:
    - "@U777"
`;
  for (const file of ['audiences.yaml', 'audiences.yml']) {
    const audiences = audiencesOf(yaml, file);
    assert.deepEqual(audiences.groups(), ['#admins', '#oncall']);
    assert.deepEqual(audiences.resolve('#oncall'), audiencesOf(ISSUE_MAPPING).resolve('#oncall'));
  }
  assert.deepEqual(audiencesOf('# no groups yet\n', 'audiences.yaml').groups(), []);
});

test("YAML problems: an unquoted '#' is a comment, and the problem says so", () => {
  const [unquotedGroup] = problemsOf('#admins:\n  slack: [C1]\n', 'audiences.yaml');
  assert.match(
    unquotedGroup ?? '',
    /^\/slack: 'slack' is not a group name.*quote values that start with '#'/,
  );
  const [unquotedChannel] = problemsOf('"#admins":\n  slack:\n    - #alerts\n', 'audiences.yaml');
  assert.match(unquotedChannel ?? '', /^\/#admins\/slack\/0: must be string \(in YAML, quote/);
  const [syntax] = problemsOf('"#admins": {slack: [C1]\n', 'audiences.yml');
  assert.match(syntax ?? '', /^: YAML syntax error at line \d+, column \d+: /);
});

test('a file that is neither JSON nor YAML is refused', () => {
  assert.deepEqual(problemsOf('{}', 'audiences.toml'), [
    ": unsupported file type '.toml': use .json, .yaml or .yml",
  ]);
});

test('the published schema accepts its example and describes every property', () => {
  const validate = new Ajv().compile(audiencesSchema);
  for (const example of audiencesSchema.examples) assert.equal(validate(example), true);
  assert.equal(validate(ISSUE_MAPPING), true);
  const undescribed: string[] = [];
  const visit = (node: unknown, path: string): void => {
    if (typeof node !== 'object' || node === null || Array.isArray(node)) return;
    const schema = node as Record<string, unknown>;
    if (!('$ref' in schema) && typeof schema.description !== 'string') undescribed.push(path || '/');
    for (const key of ['properties', 'patternProperties', 'definitions']) {
      for (const [name, child] of Object.entries((schema[key] ?? {}) as object))
        visit(child, `${path}/${key}/${name}`);
    }
    if (schema.items) visit(schema.items, `${path}/items`);
  };
  visit(audiencesSchema, '');
  assert.deepEqual(undescribed, []);
});

test('findAudiencesFile takes audiences.json, .yaml or .yml from the flows directory, else the .json path', async (t) => {
  const dir = await tempDir(t);
  assert.equal(findAudiencesFile(dir), join(dir, 'audiences.json'));
  await writeFile(join(dir, 'audiences.yml'), '');
  assert.equal(findAudiencesFile(dir), join(dir, 'audiences.yml'));
  await writeFile(join(dir, 'audiences.yaml'), '');
  assert.equal(findAudiencesFile(dir), join(dir, 'audiences.yaml'));
  await writeFile(join(dir, 'audiences.json'), '{}');
  assert.equal(findAudiencesFile(dir), join(dir, 'audiences.json'));
  await unlink(join(dir, 'audiences.json'));
  await mkdir(join(dir, 'audiences.json'));
  assert.equal(findAudiencesFile(dir), join(dir, 'audiences.yaml'), 'a directory is not the file');
});

type Report =
  | { kind: 'change'; audiences: Audiences }
  | { kind: 'problems'; problems: AudienceProblem[] }
  | { kind: 'info'; message: string };

/** Records what an AudiencesFile reports, and lets a test wait for the next report of a kind. */
class Reports {
  readonly received: Report[] = [];
  #waiters: Array<() => void> = [];

  readonly onChange = (audiences: Audiences) => this.#push({ kind: 'change', audiences });
  readonly onProblems = (problems: AudienceProblem[]) => this.#push({ kind: 'problems', problems });
  readonly onInfo = (message: string) => this.#push({ kind: 'info', message });

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

  /** Fails if anything was reported within `ms` (debounce and a missing-file recheck included). */
  async nothingWithin(ms: number): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, ms));
    assert.deepEqual(this.received, []);
  }

  #push(report: Report): void {
    this.received.push(report);
    for (const wake of this.#waiters.splice(0)) wake();
  }
}

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'switchboard-audiences-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function openFile(t: TestContext, file: string) {
  const reports = new Reports();
  const audiencesFile = await AudiencesFile.open({
    file,
    onChange: reports.onChange,
    onProblems: reports.onProblems,
    onInfo: reports.onInfo,
    debounceMs: 20,
  });
  t.after(() => audiencesFile.close());
  return { audiencesFile, reports };
}

/** Writes a file the way a deploy should: another name renamed into place, so no reload sees half of it. */
async function put(file: string, text: string): Promise<void> {
  await writeFile(`${file}.tmp`, text);
  await rename(`${file}.tmp`, file);
}

const json = (value: unknown) => JSON.stringify(value, null, 2);

test('the file at start is in force, without an onChange', async (t) => {
  const file = join(await tempDir(t), 'audiences.json');
  await writeFile(file, json(ISSUE_MAPPING));
  const { audiencesFile, reports } = await openFile(t, file);
  assert.deepEqual(resolved(audiencesFile.current(), '#oncall').targets, ['slack @U777', ...ADMINS]);
  await reports.nothingWithin(100);
});

test('a missing file is an empty mapping, said once as info; creating it takes effect', async (t) => {
  const file = join(await tempDir(t), 'audiences.yaml');
  const { audiencesFile, reports } = await openFile(t, file);
  assert.deepEqual(audiencesFile.current().groups(), []);
  assert.match((await reports.next('info')).message, /^no audiences file at .*audiences\.yaml/);

  await put(file, '"#admins":\n  slack: [C1]\n');

  const { audiences } = await reports.next('change');
  assert.deepEqual(resolved(audiences, 'admins').targets, ['slack C1']);
  assert.equal(audiencesFile.current(), audiences);
  await reports.nothingWithin(100);
});

test('a bad file at start is reported and leaves an empty mapping', async (t) => {
  const file = join(await tempDir(t), 'audiences.json');
  await writeFile(file, json({ '#oncall': { include: ['#admins'] } }));
  const { audiencesFile, reports } = await openFile(t, file);
  assert.deepEqual(audiencesFile.current().groups(), []);
  assert.deepEqual((await reports.next('problems')).problems, [
    {
      file,
      path: '/#oncall/include/0',
      reason: '#oncall includes #admins, which is not a group of this file',
    },
  ]);
});

test('a good edit replaces the mapping; a bad edit is reported once and the previous mapping stays', async (t) => {
  const file = join(await tempDir(t), 'audiences.json');
  await writeFile(file, json({ '#admins': { slack: ['C1'] } }));
  const { audiencesFile, reports } = await openFile(t, file);

  await put(file, json(ISSUE_MAPPING));
  const { audiences } = await reports.next('change');
  assert.deepEqual(resolved(audiences, '#admins').targets, ADMINS);
  assert.equal(audiencesFile.current(), audiences);

  await put(file, json({ ...ISSUE_MAPPING, '#admins': { include: ['#oncall'] } }));
  const { problems } = await reports.next('problems');
  assert.deepEqual(problems, [
    { file, path: '/#oncall/include/0', reason: 'include cycle: #admins -> #oncall -> #admins' },
  ]);
  assert.equal(audiencesFile.current(), audiences, 'the previous mapping stays in force');
  assert.deepEqual(resolved(audiencesFile.current(), '#admins').targets, ADMINS);

  await writeFile(file, json({ ...ISSUE_MAPPING, '#admins': { include: ['#oncall'] } }));
  await reports.nothingWithin(100); // the same bad bytes again: not reported twice

  await put(file, json({ '#admins': { matrix: ['!new:server'] } }));
  const fixed = await reports.next('change');
  assert.deepEqual(resolved(fixed.audiences, '#admins').targets, ['matrix !new:server']);
  assert.deepEqual(reports.received, []);
});

test('deleting the file empties the mapping and says so; recreating it takes effect again', async (t) => {
  const file = join(await tempDir(t), 'audiences.json');
  await writeFile(file, json(ISSUE_MAPPING));
  const { audiencesFile, reports } = await openFile(t, file);

  await unlink(file);
  const { audiences } = await reports.next('change');
  assert.deepEqual(audiences.groups(), []);
  assert.deepEqual(audiencesFile.current().resolve('#admins'), { targets: [], unknown: ['#admins'] });
  assert.match((await reports.next('info')).message, /audiences\.json was removed/);

  await writeFile(file, json(ISSUE_MAPPING));
  assert.deepEqual((await reports.next('change')).audiences.groups(), ['#admins', '#oncall']);
});

test('editors that save by renaming the old file away and writing a new one are followed', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'audiences.json');
  await writeFile(file, json({ '#admins': { slack: ['C1'] } }));
  const { audiencesFile, reports } = await openFile(t, file);

  // vim's default: the original becomes the backup, the new text is written under the name.
  await rename(file, `${file}~`);
  await writeFile(file, json({ '#admins': { slack: ['C2'] } }));
  await unlink(`${file}~`);
  const { audiences } = await reports.next('change');
  assert.deepEqual(resolved(audiences, '#admins').targets, ['slack C2']);

  // Others write a temporary file and rename it over the original, which replaces its inode.
  await writeFile(join(dir, '.audiences.json.swp'), json({ '#admins': { slack: ['C3'] } }));
  await rename(join(dir, '.audiences.json.swp'), file);
  const second = await reports.next('change');
  assert.deepEqual(resolved(second.audiences, '#admins').targets, ['slack C3']);
  assert.equal(audiencesFile.current(), second.audiences);
  await reports.nothingWithin(100);
});

test('other files of the directory are not the mapping', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'audiences.json');
  await writeFile(file, json(ISSUE_MAPPING));
  const { audiencesFile, reports } = await openFile(t, file);
  await writeFile(join(dir, 'greet.json'), '{"name": "greet"}');
  await writeFile(join(dir, 'audiences.yaml'), 'not: [valid');
  await reports.nothingWithin(100);
  assert.deepEqual(audiencesFile.current().groups(), ['#admins', '#oncall']);
});

test('a file in a missing directory is an error naming it', async () => {
  const file = join(tmpdir(), 'switchboard-no-such-dir', 'audiences.json');
  await assert.rejects(AudiencesFile.open({ file, watch: false }), {
    message: `the directory of audiences file ${file} does not exist`,
  });
});
