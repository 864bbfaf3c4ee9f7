import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TemplateEngine, TemplateError } from '../../../engine/templates/template-engine.ts';
import { scope } from './scope.ts';

test("the echo flow's criteria, read from JSON, is the regex ^echo\\s+", async () => {
  const engine = new TemplateEngine({ datastore: () => undefined });
  // The flow file's text is '^echo\\\\s+'; JSON decoding leaves '^echo\\s+'; Liquid's string literal leaves ^echo\s+.
  const criteria: string = JSON.parse('"{{ Event.Payload.message | match: \'^echo\\\\\\\\s+\' }}"');
  assert.equal(criteria, "{{ Event.Payload.message | match: '^echo\\\\s+' }}");
  assert.equal(await engine.renderValue(criteria, scope({ message: 'echo hello world' })), true);
  assert.equal(await engine.renderValue(criteria, scope({ message: 'echo\thello' })), true);
  assert.equal(await engine.renderValue(criteria, scope({ message: 'echoing' })), false);
  assert.equal(await engine.renderValue(criteria, scope({ message: 'say echo hello' })), false);
});

test('a single backslash in a Liquid string literal is dropped before the regex sees it', async () => {
  const engine = new TemplateEngine({ datastore: () => undefined });
  // '\s' reaches the filter as 's' (liquidjs drops the backslash of an unknown escape), as performance.md warns.
  assert.equal(await engine.renderValue(String.raw`{{ "echos" | match: '^echo\s' }}`, scope({})), true);
  assert.equal(await engine.renderValue(String.raw`{{ "echo x" | match: '^echo\s' }}`, scope({})), false);
});

test('a catastrophic-backtracking pattern returns at once (RE2 runs in linear time)', async () => {
  const engine = new TemplateEngine({ datastore: () => undefined });
  const text = `${'a'.repeat(50)}!`;
  const bomb = scope({ text });
  // With a backtracking engine each of these would take about 2^50 steps and the test would hang.
  assert.equal(await engine.renderValue(`{{ Event.Payload.text | match: '(a+)+$' }}`, bomb), false);
  assert.equal(await engine.renderValue(`{{ Event.Payload.text | match: '^(a|a)*$' }}`, bomb), false);
  assert.equal(await engine.renderValue(`{{ Event.Payload.text | extractMatch: '(a+)+$' }}`, bomb), text);
  const long = scope({ text: `${'a'.repeat(50_000)}!` });
  assert.equal(await engine.renderValue(`{{ Event.Payload.text | match: '(a+)+$' }}`, long), false);
});

test('match refuses input longer than maxRegexInputLength', async () => {
  const engine = new TemplateEngine({ datastore: () => undefined, limits: { maxRegexInputLength: 10 } });
  assert.equal(
    await engine.renderValue(`{{ Event.Payload.text | match: 'a' }}`, scope({ text: 'a'.repeat(10) })),
    true,
  );
  await assert.rejects(
    engine.renderValue(`{{ Event.Payload.text | match: 'a' }}`, scope({ text: 'a'.repeat(11) })),
    (error: unknown) =>
      error instanceof TemplateError &&
      error.code === 'TEMPLATE_LIMIT' &&
      /match: the input has 11 characters, more than the 10 a regex may search/.test(error.message),
  );
  await assert.rejects(
    engine.renderValue(`{{ Event.Payload.text | extractMatch: '(a)' }}`, scope({ text: 'a'.repeat(11) })),
    (error: unknown) => error instanceof TemplateError && error.code === 'TEMPLATE_LIMIT',
  );
});

test('RE2 syntax: Perl classes work, lookarounds are refused (and so do not match)', async () => {
  const engine = new TemplateEngine({ datastore: () => undefined });
  const payload = scope({ text: 'Build #42 FAILED on main' });
  assert.equal(
    await engine.renderValue(String.raw`{{ Event.Payload.text | match: '(?i)build #\\d+ failed' }}`, payload),
    true,
  );
  assert.equal(
    await engine.renderString(String.raw`{{ Event.Payload.text | extractMatch: '#(\\d+)' }}`, payload),
    '42',
  );
  assert.equal(await engine.renderValue(`{{ Event.Payload.text | match: 'Build(?= #)' }}`, payload), false);
});
