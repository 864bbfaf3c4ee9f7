import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  TemplateEngine,
  TemplateError,
  type TemplateScope,
} from '../../../engine/templates/template-engine.ts';

const scope: TemplateScope = {
  Event: { Name: 'Test', Pack: { Name: 'Tests', Labels: {} }, Payload: { text: 'hi' }, CreatedAt: '' },
  Context: {},
};

function isTemplateError(code: string, reason: RegExp) {
  return (error: unknown) =>
    error instanceof TemplateError && error.code === code && reason.test(error.reason);
}

test('check() reports an unknown filter', () => {
  const engine = new TemplateEngine({ datastore: () => undefined });
  assert.throws(
    () => engine.check('{{ Event.Payload.text | shout }}'),
    isTemplateError('TEMPLATE_SYNTAX', /undefined filter: shout/),
  );
  // The message carries the reason and the template, for the flow loader's problem report.
  assert.throws(() => engine.check('{{ Event.Payload.text | shout }}'), {
    message: /undefined filter: shout.*\(in template "\{\{ Event\.Payload\.text \| shout \}\}"\)/,
  });
});

test('check() reports a syntax error', () => {
  const engine = new TemplateEngine({ datastore: () => undefined });
  assert.throws(
    () => engine.check('{% if Event.Payload.text %}yes'),
    isTemplateError('TEMPLATE_SYNTAX', /not closed/),
  );
  assert.throws(
    () => engine.check('{{ Event.Payload.text '),
    isTemplateError('TEMPLATE_SYNTAX', /not closed/),
  );
  assert.throws(() => engine.check('{% nosuchtag %}'), isTemplateError('TEMPLATE_SYNTAX', /nosuchtag/));
});

test('check() accepts every Flyte filter and plain text', () => {
  const engine = new TemplateEngine({ datastore: () => undefined });
  for (const filter of [
    "match: 'a'",
    "extractMatch: '(a)'",
    "key: 'k'",
    'kvp',
    'index: 0',
    "slice: '5:'",
    'slice: 1, 2',
    'removedupwhitespaces',
    'safecopypaste',
    "matchesCron: '* * * * *'",
    'randomInt',
    'randomAlpha',
    'base64Encode',
    'base64Decode',
    'datastore',
    'template: m',
    'unmarshalJson',
  ]) {
    engine.check(`{{ x | ${filter} }}`);
  }
  engine.check('no markup at all');
  engine.check('');
});

test('rendering a template with an unknown filter fails with the same reason', async () => {
  const engine = new TemplateEngine({ datastore: () => undefined });
  await assert.rejects(
    engine.renderString('a {{ x | shout }}', scope),
    isTemplateError('TEMPLATE_SYNTAX', /shout/),
  );
  await assert.rejects(
    engine.renderValue('{{ x | shout }}', scope),
    isTemplateError('TEMPLATE_SYNTAX', /shout/),
  );
});

test('a long source is cut short in the error', () => {
  const engine = new TemplateEngine({ datastore: () => undefined });
  const source = `{{ x | shout }}${'y'.repeat(1000)}`;
  assert.throws(
    () => engine.check(source),
    (error: unknown) =>
      error instanceof TemplateError && error.source.length <= 201 && error.message.length < 400,
  );
});

test('a template over the parse limit fails with TEMPLATE_LIMIT', () => {
  const engine = new TemplateEngine({ datastore: () => undefined, limits: { parseLimit: 20 } });
  engine.check('{{ Event.Name }}');
  assert.throws(
    () => engine.check(`{{ Event.Name }}${' '.repeat(20)}`),
    isTemplateError('TEMPLATE_LIMIT', /parse length limit exceeded/),
  );
});

test('a render over the time limit fails with TEMPLATE_LIMIT', async () => {
  const engine = new TemplateEngine({ datastore: () => undefined, limits: { renderLimitMs: 20 } });
  const slow = '{% for a in (1..1000) %}{% for b in (1..1000) %}{{ b }}{% endfor %}{% endfor %}';
  await assert.rejects(
    engine.renderString(slow, scope),
    isTemplateError('TEMPLATE_LIMIT', /template render limit exceeded/),
  );
});

test('a render over the memory limit fails with TEMPLATE_LIMIT', async () => {
  const engine = new TemplateEngine({ datastore: () => undefined, limits: { memoryLimit: 1000 } });
  await assert.rejects(
    engine.renderString('{% for i in (1..100000) %}{% endfor %}', scope),
    isTemplateError('TEMPLATE_LIMIT', /memory alloc limit exceeded/),
  );
  await assert.rejects(
    engine.renderString('{{ 5000 | randomAlpha }}', scope),
    isTemplateError('TEMPLATE_LIMIT', /memory/),
  );
  // Output counts too: 300 copies of a 10-character string.
  await assert.rejects(
    engine.renderString('{% for i in (1..300) %}0123456789{% endfor %}', scope),
    isTemplateError('TEMPLATE_LIMIT', /memory/),
  );
  assert.equal(
    (await engine.renderString('{% for i in (1..30) %}0123456789{% endfor %}', scope)).length,
    300,
  );
});

test('the default limits stop a runaway loop', async () => {
  const engine = new TemplateEngine({ datastore: () => undefined });
  await assert.rejects(
    engine.renderString('{% for i in (1..1000000000) %}{{ i }}{% endfor %}', scope),
    isTemplateError('TEMPLATE_LIMIT', /limit exceeded/),
  );
});

test('a template that renders itself stops at the nesting limit', async () => {
  const engine = new TemplateEngine({ datastore: () => undefined });
  const selfScope = { ...scope, Context: { t: '{{ t | template: m }}', m: {} } };
  selfScope.Context.m = selfScope.Context;
  await assert.rejects(
    engine.renderString('{{ Context.t | template: Context }}', selfScope),
    isTemplateError('TEMPLATE_LIMIT', /nested more than 8 deep/),
  );
});

test('include and render read no files', async () => {
  const engine = new TemplateEngine({ datastore: () => undefined });
  await assert.rejects(
    engine.renderString("{% include 'package.json' %}", scope),
    isTemplateError('TEMPLATE_RENDER', /lookup/),
  );
  await assert.rejects(engine.renderString("{% render 'package.json' %}", scope), TemplateError);
});

test('a render error names the failing filter', async () => {
  const engine = new TemplateEngine({ datastore: () => undefined });
  await assert.rejects(
    engine.renderString('{{ "{" | unmarshalJson }}', scope),
    isTemplateError('TEMPLATE_RENDER', /^unmarshalJson: invalid JSON/),
  );
});

test('the datastore is asked at render time, so new values show up', async () => {
  const store = new Map<string, unknown>();
  const engine = new TemplateEngine({ datastore: (key) => store.get(key) });
  const source = "{{ 'greeting' | datastore }}";
  assert.equal(await engine.renderValue(source, scope), null);
  store.set('greeting', { text: 'hello' });
  assert.deepEqual(await engine.renderValue(source, scope), { text: 'hello' });
});

test('variables of the scope are not reachable through prototypes', async () => {
  const engine = new TemplateEngine({ datastore: () => undefined });
  assert.equal(
    await engine.renderString('[{{ Event.Payload.text.constructor }}{{ Context.constructor.name }}]', scope),
    '[]',
  );
});
