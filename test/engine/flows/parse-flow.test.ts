import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { parseFlow } from '../../../engine/flows/parse-flow.ts';

const FLOWS_DIR = resolve(import.meta.dirname, '../../../flows');

const step = (fields: Record<string, unknown> = {}) => ({
  event: { packName: 'Slack', name: 'ReceivedMessage' },
  command: { packName: 'Slack', name: 'SendMessage', input: { message: '{{ Event.Payload.message }}' } },
  ...fields,
});
const json = (value: unknown) => JSON.stringify(value, null, 2);
const problemsOf = (file: string, text: string) =>
  parseFlow(file, text).problems.map(({ path, reason }) => ({ path, reason }));

test('a JSON flow parses into its Flow', () => {
  const flow = { name: 'greet', steps: [step({ id: 'reply', criteria: 'true' })] };
  assert.deepEqual(parseFlow('greet.json', json(flow)), { flow, problems: [] });
});

test('a YAML flow (.yaml or .yml) parses into the same Flow as its JSON twin', () => {
  const yaml = `name: greet
steps:
  - id: reply
    event: { packName: Slack, name: ReceivedMessage }
    command:
      packName: Slack
      name: SendMessage
      input:
        message: "{{ Event.Payload.message }}"
`;
  const expected = { name: 'greet', steps: [step({ id: 'reply' })] };
  assert.deepEqual(parseFlow('greet.yaml', yaml), { flow: expected, problems: [] });
  assert.deepEqual(parseFlow('greet.yml', yaml).flow, expected);
});

test('the shipped example flows parse without problems', () => {
  for (const name of ['echo', 'announce_deployments']) {
    const file = `${name}.json`;
    const result = parseFlow(file, readFileSync(resolve(FLOWS_DIR, file), 'utf8'));
    assert.deepEqual(result.problems, [], file);
    assert.equal(result.flow?.name, name);
  }
});

test("the echo flow keeps Flyte's doubled escape: four backslashes in the file, two in the template", () => {
  const text = readFileSync(resolve(FLOWS_DIR, 'echo.json'), 'utf8');
  assert.ok(text.includes(String.raw`match: '^echo\\\\s+'`));
  const { flow } = parseFlow('echo.json', text);
  assert.equal(flow?.steps[0]?.criteria, String.raw`{{ Event.Payload.message | match: '^echo\\s+' }}`);
});

test('JSON syntax errors name the line and column', () => {
  const text = '{\n  "name": "greet",\n  // a comment\n  "steps": []\n}';
  assert.deepEqual(parseFlow('greet.json', text), {
    flow: undefined,
    problems: [
      {
        file: 'greet.json',
        path: '',
        reason: 'JSON syntax error at line 3, column 3: Expected double-quoted property name',
      },
    ],
  });
  assert.match(
    problemsOf('a.json', '{\n  "name": tru\n}')[0]?.reason ?? '',
    /at line 2, column 14: Unexpected token/,
  );
  assert.match(
    problemsOf('a.json', '{ "name": "greet",')[0]?.reason ?? '',
    /^JSON syntax error at line 1, column 19/,
  );
});

test('YAML syntax errors name the line and column', () => {
  const problems = problemsOf('greet.yaml', 'name: greet\nname: again\nsteps: []\n');
  assert.deepEqual(problems, [
    { path: '', reason: 'YAML syntax error at line 2, column 1: Map keys must be unique' },
  ]);
  assert.match(
    problemsOf('greet.yml', 'name: [greet\nsteps: 1\n')[0]?.reason ?? '',
    /^YAML syntax error at line \d+, column \d+: /,
  );
});

test('schema problems carry the JSON pointer of the offending value and the rule it breaks', () => {
  const flow = {
    name: 'greet',
    steps: [{ event: { packName: '', name: 'ReceivedMessage' } }, step({ extra: true })],
    owner: 'me',
  };
  assert.deepEqual(problemsOf('greet.json', json(flow)), [
    { path: '', reason: "must NOT have additional properties ('owner')" },
    { path: '/steps/0', reason: "must have required property 'command'" },
    { path: '/steps/0/event/packName', reason: 'must NOT have fewer than 1 characters' },
    { path: '/steps/1', reason: "must NOT have additional properties ('extra')" },
  ]);
  assert.deepEqual(problemsOf('x.json', '[]'), [{ path: '', reason: 'must be object' }]);
  assert.deepEqual(problemsOf('x.json', json({ name: 'x', steps: [step({ dependsOn: 'a' })] })), [
    { path: '/steps/0/dependsOn', reason: 'must be array' },
  ]);
});

test('a step id used twice is reported at the second use', () => {
  const flow = { name: 'greet', steps: [step({ id: 'a' }), step({ id: 'b' }), step({ id: 'a' })] };
  assert.deepEqual(problemsOf('greet.json', json(flow)), [
    { path: '/steps/2/id', reason: "duplicate step id 'a' (also /steps/0)" },
  ]);
});

test('dependsOn must name another step of the same flow', () => {
  const flow = {
    name: 'greet',
    steps: [
      step({ id: 'a' }),
      step({ id: 'b', dependsOn: ['a'] }),
      step({ id: 'c', dependsOn: ['a', 'c', 'zz'] }),
    ],
  };
  assert.deepEqual(problemsOf('greet.json', json(flow)), [
    { path: '/steps/2/dependsOn/1', reason: "step 'c' depends on itself" },
    { path: '/steps/2/dependsOn/2', reason: "no step in this flow has the id 'zz'" },
  ]);
});

test('a file that is neither JSON nor YAML is refused', () => {
  assert.deepEqual(problemsOf('greet.toml', 'name = "greet"'), [
    { path: '', reason: "unsupported file type '.toml': use .json, .yaml or .yml" },
  ]);
});

test('a byte order mark does not break a JSON file', () => {
  const flow = { name: 'greet', steps: [step()] };
  assert.deepEqual(parseFlow('greet.json', `\uFEFF${json(flow)}`).flow, flow);
});
