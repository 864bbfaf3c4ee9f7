import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  parseFlyteBool,
  TemplateEngine,
  type TemplateScope,
} from '../../../engine/templates/template-engine.ts';

const engine = new TemplateEngine({ datastore: () => undefined });
const scope: TemplateScope = {
  Event: {
    Name: 'Test',
    Pack: { Name: 'Tests', Labels: {} },
    Payload: { n: 3, ok: true, word: 'yes' },
    CreatedAt: '',
  },
  Context: { Flag: 'True', Zero: 0 },
};

test("parseFlyteBool reads exactly what Go's strconv.ParseBool reads", () => {
  for (const text of ['1', 't', 'T', 'TRUE', 'true', 'True']) assert.equal(parseFlyteBool(text), true, text);
  for (const text of ['0', 'f', 'F', 'FALSE', 'false', 'False'])
    assert.equal(parseFlyteBool(text), false, text);
  for (const text of ['', 'yes', 'no', 'tRUE', 'on', '2', ' true', 'true\n', 'null']) {
    assert.equal(parseFlyteBool(text), undefined, JSON.stringify(text));
  }
});

test('criteria truthiness table', async () => {
  const table: Array<[string | undefined, boolean, boolean]> = [
    // [criteria, pass, has a reason]
    [undefined, true, false],
    ['', true, false],
    ['  \n ', true, false],
    ['true', true, false],
    ['{{ Event.Payload.ok }}', true, false],
    ['{{ Event.Payload.n > 2 }}', true, false], // liquidjs evaluates comparisons in output too
    ['{{ Event.Payload.n > 5 }}', false, false],
    ['{% if Event.Payload.n > 2 %}true{% else %}false{% endif %}', true, false],
    ['{% if Event.Payload.n > 5 %}true{% else %}false{% endif %}', false, false],
    ['{{ Context.Flag }}', true, false],
    ['{{ Context.Zero }}', false, false],
    ['{{ Event.Payload.n | minus: 2 }}', true, false],
    ['{{ Event.Payload.word }}', false, true],
    ['{{ Event.Payload.missing }}', false, true],
    ['T', true, false],
    ['F', false, false],
    ['  {{ Event.Payload.ok }}\n', true, false],
    ['{{ "nope" | match: "^no" }}', true, false],
    ['{{ "nope" | match: "^yes" }}', false, false],
  ];
  for (const [criteria, pass, hasReason] of table) {
    const result = await engine.evaluateCriteria(criteria, scope);
    assert.equal(result.pass, pass, `${JSON.stringify(criteria)} -> ${JSON.stringify(result)}`);
    assert.equal(
      result.reason !== undefined,
      hasReason,
      `${JSON.stringify(criteria)} -> ${JSON.stringify(result)}`,
    );
  }
});

test('criteria that are not a boolean say what they rendered', async () => {
  const result = await engine.evaluateCriteria('{{ Event.Payload.word }}', scope);
  assert.deepEqual(result, {
    pass: false,
    output: 'yes',
    reason: 'the criteria rendered "yes", which is not a boolean (true/false, t/f, 1/0)',
  });
  assert.deepEqual(await engine.evaluateCriteria('{{ Event.Payload.ok }}', scope), {
    pass: true,
    output: 'true',
  });
});

test('criteria that fail to render throw a TemplateError', async () => {
  await assert.rejects(engine.evaluateCriteria('{{ "x" | unmarshalJson }}', scope), {
    name: 'TemplateError',
  });
  await assert.rejects(engine.evaluateCriteria('{{ x | nope }}', scope), {
    name: 'TemplateError',
    code: 'TEMPLATE_SYNTAX',
  });
});
