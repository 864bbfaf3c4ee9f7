import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TemplateEngine } from '../../../engine/templates/template-engine.ts';
import { scope } from './scope.ts';

const datastore: Record<string, unknown> = { product_teams: { flyte: 'flyte@flyte.com' }, answer: 42 };
const engine = new TemplateEngine({ datastore: (key) => datastore[key] });

const render = (source: string, payload: unknown = {}) => engine.renderString(source, scope(payload));
const value = (source: string, payload: unknown = {}) => engine.renderValue(source, scope(payload));

test('match: unanchored RE2 search; an invalid pattern is false', async () => {
  assert.equal(await value(`{{ "foobar" | match: '^[fo]+bar.*$' }}`), true);
  assert.equal(await value(`{{ "foobar" | match: '^Foobar$' }}`), false);
  assert.equal(await value(`{{ "say foobar" | match: 'oba' }}`), true);
  assert.equal(await value(`{{ "foobar" | match: '(' }}`), false);
  assert.equal(await render(`{{ "foobar" | match: 'foo' }}`), 'true');
});

test('extractMatch: the first group of the first match, else the input unchanged', async () => {
  assert.equal(
    await render(String.raw`{{ "foo bar baz bay" | extractMatch: '\\w+ \\w+ (\\w+) (\\w+)' }}`),
    'baz',
  );
  assert.equal(
    await render(String.raw`{{ "foo bar baz" | extractMatch: '\\w+ \\w+ (\\d+)' }}`),
    'foo bar baz',
  );
  assert.equal(await render(String.raw`{{ "foo bar baz" | extractMatch: '\\w+ \\w+ \\w+' }}`), 'foo bar baz');
  assert.equal(await render(`{{ "build 1234 failed" | extractMatch: '([0-9]+) (x)?' }}`), '1234');
  await assert.rejects(render(`{{ "foo" | extractMatch: '(' }}`), /extractMatch: invalid regular expression/);
});

test('key: a map entry, nil when missing or when the input is no map', async () => {
  const payload = { headers: { 'X-Id': 'abc' }, list: ['a'] };
  assert.equal(await render(`{{ Event.Payload.headers | key: 'X-Id' }}`, payload), 'abc');
  assert.equal(await value(`{{ Event.Payload.headers | key: 'missing' }}`, payload), null);
  assert.equal(await value(`{{ Event.Payload.list | key: '0' }}`, payload), null);
  assert.equal(await value(`{{ Event.Payload.nothing | key: 'a' }}`, payload), null);
  assert.equal(await value(`{{ Event.Payload.headers | key: 'constructor' }}`, payload), null);
});

test('kvp: "a=1, b=2" becomes a map, split on commas then on the first =, both sides trimmed', async () => {
  assert.deepEqual(await value(`{{ "a=1, b=2" | kvp }}`), { a: '1', b: '2' });
  assert.deepEqual(await value(`{{ " url = http://x/?q=1 ,flag, =empty-key" | kvp }}`), {
    url: 'http://x/?q=1',
    '': 'empty-key',
  });
  assert.equal(await render(`{{ "team=flyte, env=prod" | kvp | key: 'env' }}`), 'prod');
  assert.deepEqual(await value(`{{ "" | kvp }}`), {});
});

test('index: element n of an array, character n of a string', async () => {
  const payload = { list: ['zero', 'one', { two: 2 }], text: 'héllo😀' };
  assert.equal(await value('{{ Event.Payload.list | index: 1 }}', payload), 'one');
  assert.deepEqual(await value('{{ Event.Payload.list | index: 2 }}', payload), { two: 2 });
  assert.equal(await value('{{ Event.Payload.list | index: 3 }}', payload), null);
  assert.equal(await value('{{ Event.Payload.list | index: -1 }}', payload), null);
  assert.equal(await value('{{ Event.Payload.text | index: 1 }}', payload), 'é');
  assert.equal(await value('{{ Event.Payload.text | index: 5 }}', payload), '😀');
  assert.equal(await value('{{ Event.Payload.text | index: 6 }}', payload), '');
  await assert.rejects(
    value(`{{ Event.Payload.list | index: 'first' }}`, payload),
    /index: "first" is not a whole number/,
  );
});

test('slice with a string range is Python-style, counted in characters', async () => {
  const payload = { message: 'echo hello world', emoji: 'a😀b😀c', list: [1, 2, 3, 4, 5] };
  const cases: Array<[string, string]> = [
    ['5:', 'hello world'],
    [':4', 'echo'],
    ['5:10', 'hello'],
    ['-5:', 'world'],
    [':-6', 'echo hello'],
    ['-100:4', 'echo'],
    ['3:1', ''],
    ['100:', ''],
    [':', 'echo hello world'],
  ];
  for (const [range, expected] of cases) {
    assert.equal(await render(`{{ Event.Payload.message | slice: '${range}' }}`, payload), expected, range);
  }
  assert.equal(await render(`{{ Event.Payload.emoji | slice: '1:4' }}`, payload), '😀b😀');
  assert.equal(await render(`{{ Event.Payload.emoji | slice: '-2:' }}`, payload), '😀c');
  assert.deepEqual(await value(`{{ Event.Payload.list | slice: '1:-1' }}`, payload), [2, 3, 4]);
  await assert.rejects(render(`{{ "abc" | slice: '1:2:3' }}`), /slice: '1:2:3' is not 'from:to'/);
  await assert.rejects(render(`{{ "abc" | slice: 'a:' }}`), /not a whole number/);
});

test("slice keeps Liquid's own numeric form", async () => {
  assert.equal(await render('{{ "Liquid" | slice: 0 }}'), 'L');
  assert.equal(await render('{{ "Liquid" | slice: 2, 5 }}'), 'quid');
  assert.equal(await render('{{ "Liquid" | slice: -3, 2 }}'), 'ui');
  assert.deepEqual(await value('{{ Event.Payload.list | slice: 1, 2 }}', { list: ['a', 'b', 'c'] }), [
    'b',
    'c',
  ]);
  // A string without ':' is not Flyte's form either: Liquid reads it as a number.
  assert.equal(await render(`{{ "Liquid" | slice: '2' }}`), 'q');
});

test('removedupwhitespaces: whitespace runs become one space, a trailing space goes', async () => {
  assert.equal(
    await render('{{ Event.Payload.text | removedupwhitespaces }}', { text: '  deploy \t\n app   now  ' }),
    ' deploy app now',
  );
  // U+00A0 is not whitespace here (Go's \s); safecopypaste handles it.
  assert.equal(
    await render('{{ Event.Payload.text | removedupwhitespaces }}', { text: 'a\u00A0 b' }),
    'a\u00A0 b',
  );
});

test('safecopypaste: non-breaking spaces become plain spaces', async () => {
  const payload = { text: 'echo\u00A0hello\u00A0\u00A0world' };
  assert.equal(await render('{{ Event.Payload.text | safecopypaste }}', payload), 'echo hello  world');
  assert.equal(await value(`{{ Event.Payload.text | safecopypaste | match: '^echo\\\\s+' }}`, payload), true);
  assert.equal(await value(`{{ Event.Payload.text | match: '^echo\\\\s+' }}`, payload), false);
});

test('matchesCron: an RFC 3339 time in a minute that a 5-field cron expression names', async () => {
  const matches = (time: string, cron: string) => value(`{{ '${time}' | matchesCron: '${cron}' }}`);
  assert.equal(await matches('2018-02-14T23:18:09.0481031Z', '18 23 * * *'), true);
  assert.equal(await matches('2018-02-14T23:19:00Z', '18 23 * * *'), false);
  assert.equal(await matches('2024-01-08T09:30:00Z', '*/15 9-17 * * MON-FRI'), true);
  assert.equal(await matches('2024-01-07T09:30:00Z', '*/15 9-17 * * MON-FRI'), false);
  // Read on the time's own wall clock, as Flyte did: 09:00 at +02:00 is 09:00, not 07:00.
  assert.equal(await matches('2024-01-08T09:00:00+02:00', '0 9 * * *'), true);
  assert.equal(await matches('2024-01-08T09:00:00+02:00', '0 7 * * *'), false);
  assert.equal(await value('{{ Event.CreatedAt | matchesCron: "0 0 1 1 *" }}'), true);
  await assert.rejects(matches('not a date', '18 23 * * *'), /"not a date" is not an RFC 3339 time/);
  await assert.rejects(matches('2024-02-30T00:00:00Z', '* * * * *'), /not an RFC 3339 time/);
  await assert.rejects(
    matches('2024-01-08T09:00:00Z', 'not a cron expression'),
    /not a 5-field cron expression/,
  );
  await assert.rejects(matches('2024-01-08T09:00:00Z', '0 0 9 * * *'), /not a 5-field cron expression/);
});

test('randomInt: a whole number from 0 to n-1', async () => {
  const seen = new Set<unknown>();
  for (let i = 0; i < 200; i++) seen.add(await value('{{ 3 | randomInt }}'));
  assert.deepEqual([...seen].sort(), [0, 1, 2]);
  assert.equal(await value('{{ 1 | randomInt }}'), 0);
  await assert.rejects(value('{{ 0 | randomInt }}'), /randomInt: the bound must be a whole number from 1/);
});

test('randomAlpha: n letters', async () => {
  assert.match(String(await value('{{ 10 | randomAlpha }}')), /^[A-Za-z]{10}$/);
  assert.equal(await value('{{ 0 | randomAlpha }}'), '');
  await assert.rejects(value('{{ -5 | randomAlpha }}'), /word length must be a non-negative whole number/);
});

test('base64Encode: URL-safe and unpadded; base64Decode also takes padded and standard input', async () => {
  const payload = { text: 'héllo?>~' };
  assert.equal(await render('{{ Event.Payload.text | base64Encode }}', payload), 'aMOpbGxvPz5-');
  assert.equal(await render('{{ "a" | base64Encode }}'), 'YQ');
  assert.equal(await render('{{ "aMOpbGxvPz5-" | base64Decode }}'), 'héllo?>~');
  assert.equal(await render('{{ "aMOpbGxvPz5+" | base64Decode }}'), 'héllo?>~');
  assert.equal(await render('{{ "YQ==" | base64Decode }}'), 'a');
  assert.equal(await render('{{ "YQ" | base64Decode }}'), 'a');
  assert.equal(await render('{{ Event.Payload.text | base64Encode | base64Decode }}', payload), payload.text);
  await assert.rejects(render('{{ "not base64!" | base64Decode }}'), /base64Decode: the input is not base64/);
  await assert.rejects(render('{{ "YQ=" | base64Decode }}'), /not base64/);
});

test('datastore: the stored value, parsed; empty when missing', async () => {
  assert.equal(
    await render(`{email: "{{ 'product_teams' | datastore | key: 'flyte' }}"}`),
    '{email: "flyte@flyte.com"}',
  );
  assert.equal(
    await render(`{% assign teams = 'product_teams' | datastore %}{{ teams.flyte }}`),
    'flyte@flyte.com',
  );
  assert.equal(await value(`{{ 'answer' | datastore }}`), 42);
  assert.equal(await value(`{{ 'missing' | datastore }}`), null);
  assert.equal(await render(`[{{ 'missing' | datastore }}]`), '[]');
});

test('template: renders a string as a template whose variables are the map entries', async () => {
  const payload = {
    ctx: { team: { name: 'Flyte' } },
    tpl: '#!/bin/sh\necho "Hello {{ team.name }}">>{}',
  };
  assert.equal(
    await render('{{ Event.Payload.tpl | template: Event.Payload.ctx }}', payload),
    '#!/bin/sh\necho "Hello Flyte">>{}',
  );
  // name: value arguments add variables; the nested template sees nothing else (no Event).
  assert.equal(
    await render(
      `{{ 'Hi {{ who }} of {{ team.name }}{{ Event.Name }}' | template: Event.Payload.ctx, who: 'Ann' }}`,
      payload,
    ),
    'Hi Ann of Flyte',
  );
  assert.equal(await render(`{{ 'x{{ a }}' | template }}`), 'x');
  // Errors inside the nested template fail the render, as in Flyte.
  await assert.rejects(
    render(`{{ '{{ -4 | randomAlpha }}' | template: Event.Payload.ctx }}`, payload),
    /word length/,
  );
  await assert.rejects(render(`{{ '{{ a | nope }}' | template }}`), /undefined filter: nope/);
  await assert.rejects(render(`{{ 'x' | template: 'not a map' }}`), /the variables must be a map/);
});

test('unmarshalJson: a JSON string becomes its value; invalid JSON fails the render', async () => {
  const payload = { j: '{"foo":"bar","n":[1,2]}' };
  assert.equal(
    await render('{% assign j = Event.Payload.j | unmarshalJson %}it is {{ j.foo }}', payload),
    'it is bar',
  );
  assert.equal(
    await render(`it is {{ Event.Payload.j | unmarshalJson | key: 'foo' }}`, payload),
    'it is bar',
  );
  assert.deepEqual(await value('{{ Event.Payload.j | unmarshalJson }}', payload), { foo: 'bar', n: [1, 2] });
  await assert.rejects(
    render('{{ Event.Payload.j | unmarshalJson }}', { j: '{"foo":}' }),
    /unmarshalJson: invalid JSON/,
  );
});

test("Liquid's own filters stay available", async () => {
  assert.equal(await render('{{ "a,b" | split: "," | join: "+" | upcase }}'), 'A+B');
  assert.equal(await render('{{ missing | default: "none" }}'), 'none');
  assert.equal(await value('{{ 5 | plus: 2 }}'), 7);
  assert.equal(await render('{{ Event.Payload | json }}', { a: [1] }), '{"a":[1]}');
});
