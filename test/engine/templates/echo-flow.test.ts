import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Flow, FlowStep } from '../../../engine/flow.ts';
import { TemplateEngine, type TemplateScope } from '../../../engine/templates/template-engine.ts';

// The echo flow from flyte-slack's README (shared/seeds/003), as the file's text: JSON escapes included.
const ECHO_FLOW_JSON = String.raw`{
  "name": "echo",
  "description": "Echo message back to the sender with a mention, like echo service",
  "steps": [
    {
      "id": "get_message",
      "event": { "packName": "Slack", "name": "ReceivedMessage" },
      "criteria": "{{ Event.Payload.message | match: '^echo\\\\s+' }}",
      "context": {
        "Msg": "{{ Event.Payload.message | slice:'5:'}}",
        "Channel": "{{ Event.Payload.channelId }}",
        "RequestorId": "{{ Event.Payload.user.id }}"
      },
      "command": {
        "packName": "Slack",
        "name": "SendMessage",
        "input": {
          "channelId":"{{ Context.Channel }}",
          "message":"<@{{ Context.RequestorId }}>, you said:\n>>> {{ Context.Msg }}"
        }
      }
    }
  ]
}`;

const flow = JSON.parse(ECHO_FLOW_JSON) as Flow;
const step = flow.steps[0] as FlowStep;
const engine = new TemplateEngine({ datastore: () => undefined });

function receivedMessage(message: string, context: Record<string, unknown> = {}): TemplateScope {
  return {
    Event: {
      Name: 'ReceivedMessage',
      Pack: { Name: 'Slack', Labels: {} },
      Payload: { channelId: 'C1', user: { id: 'U1', name: 'ann' }, message, timestamp: '1700000000.000100' },
      CreatedAt: '2024-01-01T12:00:00Z',
    },
    Context: context,
  };
}

/** Flyte's order: context (each value sees only the parent context) -> criteria -> command input. */
async function runStep(message: string) {
  const context: Record<string, unknown> = {};
  for (const [key, source] of Object.entries(step.context ?? {})) {
    context[key] = await engine.renderValue(source, receivedMessage(message));
  }
  const scope = receivedMessage(message, context);
  const criteria = await engine.evaluateCriteria(step.criteria, scope);
  const input = criteria.pass ? await engine.renderInput(step.command.input, scope) : undefined;
  return { context, criteria, input };
}

test('every template of the echo flow passes check()', () => {
  const sources = [
    step.criteria ?? '',
    ...Object.values(step.context ?? {}),
    ...Object.values(step.command.input as object),
  ];
  for (const source of sources) engine.check(source as string);
});

test('"echo hello world" from U1 in C1 is echoed back with a mention', async () => {
  const { context, criteria, input } = await runStep('echo hello world');
  assert.deepEqual(context, { Msg: 'hello world', Channel: 'C1', RequestorId: 'U1' });
  assert.deepEqual(criteria, { pass: true, output: 'true' });
  assert.deepEqual(input, { channelId: 'C1', message: '<@U1>, you said:\n>>> hello world' });
});

test('a message that does not start with "echo " is left alone', async () => {
  for (const message of ['echoing', 'please echo this', 'echo', '']) {
    const { criteria, input } = await runStep(message);
    assert.deepEqual(criteria, { pass: false, output: 'false' }, message);
    assert.equal(input, undefined);
  }
});
