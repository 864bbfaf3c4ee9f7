import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TemplateEngine, type TemplateScope } from '../../../engine/templates/template-engine.ts';

const engine = new TemplateEngine({ datastore: () => undefined });
const attachments = [{ title: 'Deploy', fields: [{ title: 'Env', value: 'prod', short: true }] }];
const scope: TemplateScope = {
  Event: {
    Name: 'DeploymentSucceeded',
    Pack: { Name: 'CI', Labels: { env: 'prod' } },
    Payload: { count: 5, ratio: 0.5, big: 1e21, ok: true, none: null, attachments, text: 'hi' },
    CreatedAt: '2024-01-01T00:00:00Z',
  },
  Context: { Who: 'U1' },
};

test('a lone output expression keeps its type', async () => {
  assert.equal(await engine.renderValue('{{ Event.Payload.count }}', scope), 5);
  assert.equal(await engine.renderValue('{{ Event.Payload.ratio }}', scope), 0.5);
  assert.equal(await engine.renderValue('{{ Event.Payload.ok }}', scope), true);
  assert.equal(await engine.renderValue('{{ Event.Payload.none }}', scope), null);
  assert.equal(await engine.renderValue('{{ Event.Payload.attachments }}', scope), attachments);
  assert.deepEqual(await engine.renderValue('{{ Event.Pack.Labels }}', scope), { env: 'prod' });
  assert.equal(await engine.renderValue('{{ Event.Payload.count | plus: 1 }}', scope), 6);
  assert.equal(await engine.renderValue('  {{- Event.Payload.count }}\n', scope), 5);
});

test('anything else renders to a string', async () => {
  assert.equal(await engine.renderValue('x {{ Event.Payload.count }}', scope), 'x 5');
  assert.equal(await engine.renderValue('{{ Event.Payload.count }}{{ Event.Payload.count }}', scope), '55');
  assert.equal(await engine.renderValue('{% if true %}{{ Event.Payload.count }}{% endif %}', scope), '5');
  assert.equal(await engine.renderValue('{{ Event.Payload.text }}', scope), 'hi');
  assert.equal(await engine.renderValue('plain text', scope), 'plain text');
  assert.equal(await engine.renderValue('', scope), '');
  // A missing variable renders empty, as in Flyte, even on its own.
  assert.equal(await engine.renderValue('{{ Event.Payload.missing.deeper }}', scope), '');
});

test('numbers, booleans and structures read naturally inside text', async () => {
  const text = await engine.renderString(
    '{{ Event.Payload.count }} {{ Event.Payload.ratio }} {{ Event.Payload.big }} {{ Event.Payload.ok }} [{{ Event.Payload.none }}] {{ Event.Pack.Labels }}',
    scope,
  );
  assert.equal(text, '5 0.5 1e+21 true [] {"env":"prod"}');
  assert.equal(await engine.renderString('{{ 10 | divided_by: 2 }}', scope), '5');
  assert.doesNotMatch(await engine.renderString('{{ Event.Payload.count | times: 1.0 }}', scope), /5\.0/);
});

test('renderInput renders every string leaf however deep, and nothing else', async () => {
  const input = {
    channel: '{{ Event.Pack.Labels.env }}',
    count: '{{ Event.Payload.count }}',
    literal: 7,
    flag: false,
    nothing: null,
    '{{ Context.Who }}': 'keys are not rendered',
    attachments: [
      {
        text: '<@{{ Context.Who }}> deployed',
        fields: [
          { title: 'Count', value: '{{ Event.Payload.count }}', short: true },
          '{{ Event.Payload.ok }}',
        ],
      },
    ],
    raw: '{{ Event.Payload.attachments }}',
    deep: [[[['{{ Event.Name }}']]]],
  };
  assert.deepEqual(await engine.renderInput(input, scope), {
    channel: 'prod',
    count: 5,
    literal: 7,
    flag: false,
    nothing: null,
    '{{ Context.Who }}': 'keys are not rendered',
    attachments: [{ text: '<@U1> deployed', fields: [{ title: 'Count', value: 5, short: true }, true] }],
    raw: attachments,
    deep: [[[['DeploymentSucceeded']]]],
  });
  assert.equal(await engine.renderInput(3, scope), 3);
  assert.equal(await engine.renderInput(null, scope), null);
  assert.equal(await engine.renderInput('{{ Event.Payload.count }}', scope), 5);
});

test('renderInput keeps a "__proto__" key as a plain key', async () => {
  const input: unknown = JSON.parse('{"__proto__": {"polluted": "{{ Event.Payload.text }}"}}');
  const rendered = (await engine.renderInput(input, scope)) as Record<string, unknown>;
  assert.deepEqual(Object.keys(rendered), ['__proto__']);
  assert.equal(Object.getPrototypeOf(rendered), Object.prototype);
  assert.deepEqual(Object.getOwnPropertyDescriptor(rendered, '__proto__')?.value, { polluted: 'hi' });
});
