import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { DRY_RUN_EVENT_ID, dryRunFlow, dryRunFlows, readDryRunEvent } from '../../engine/dry-run.ts';
import type { Flow } from '../../engine/flow.ts';
import { TemplateEngine } from '../../engine/templates/template-engine.ts';
import type { Envelope } from '../../shared/envelope.ts';
import { loadedFlow } from '../support/engine.ts';

const templates = new TemplateEngine({ datastore: (key) => (key === 'room' ? '#ops' : undefined) });
const echo = JSON.parse(readFileSync('flows/echo.json', 'utf8')) as Flow;

function event(fields: object): Envelope {
  const read = readDryRunEvent(fields);
  assert.ok(read.ok, read.ok ? '' : read.reason);
  return read.event;
}

const echoHello = event({
  pack: 'Slack',
  name: 'ReceivedMessage',
  payload: { channelId: 'C1', user: { id: 'U1' }, message: 'echo hello' },
});

/** Step a answers a message; b, after a, reports a's result; c listens for something else. */
const chain: Flow = {
  name: 'chain',
  steps: [
    {
      id: 'b',
      dependsOn: ['a'],
      event: { packName: 'slack', name: 'MessageSent' },
      command: {
        packName: 'notify',
        name: 'Tell',
        input: { text: 'sent {{ Context.Msg }} in {{ Event.Payload.channelId }}' },
      },
    },
    {
      id: 'a',
      event: { packName: 'slack', name: 'ReceivedMessage' },
      context: { Msg: '{{ Event.Payload.message }}' },
      command: { packName: 'slack', name: 'SendMessage', input: { message: '{{ Context.Msg }}' } },
    },
    {
      id: 'c',
      dependsOn: ['x', 'b'],
      event: { packName: 'slack', name: 'MessageSent' },
      command: { packName: 'notify', name: 'Tell' },
    },
    {
      event: { packName: 'slack', name: 'ReceivedMessage' },
      command: { packName: 'slack', name: 'X' },
      criteria: '{{ "x" }}',
    },
  ],
};

describe('readDryRunEvent', () => {
  test('fills in what a hand-written event leaves out, and takes the pack as flows write it', () => {
    const read = event({ pack: 'Slack', name: 'ReceivedMessage', payload: {} });
    assert.equal(read.id, DRY_RUN_EVENT_ID);
    assert.equal(read.pack, 'slack');
    assert.equal(read.kind, 'event');
    assert.ok(!Number.isNaN(Date.parse(read.createdAt)));
    const kept = readDryRunEvent({ id: 'mine', pack: 'slack', name: 'X', payload: {} }, { id: 'fresh' });
    assert.equal(kept.ok && kept.event.id, 'mine');
  });

  test('refuses what is not an object, and what fails the envelope schema, saying why', () => {
    for (const value of [null, [], 'echo hello', 5]) {
      assert.deepEqual(readDryRunEvent(value), { ok: false, reason: 'the event must be a JSON object' });
    }
    const noName = readDryRunEvent({ pack: 'slack', payload: {} });
    assert.equal(noName.ok, false);
    assert.match(noName.ok ? '' : noName.reason, /not a valid envelope: .*name/);
    const command = readDryRunEvent({ kind: 'command', pack: 'slack', name: 'X', payload: {} });
    assert.match(command.ok ? '' : command.reason, /kind "command"/);
  });
});

describe('dryRunFlow', () => {
  test('the echo flow fires on "echo hello" and renders the command it would send', async () => {
    const result = await dryRunFlow(echo, echoHello, templates);
    assert.equal(result.fired, 1);
    const [step] = result.steps;
    assert.equal(step?.stepId, 'get_message');
    assert.ok(step?.fired);
    assert.deepEqual(step.command, {
      pack: 'slack',
      name: 'SendMessage',
      payload: { channelId: 'C1', message: '<@U1>, you said:\n>>> hello' },
      labels: undefined,
    });
  });

  test('says which check stopped a step: pack, name, criteria', async () => {
    const stage = async (fields: object) => {
      const [step] = (await dryRunFlow(echo, event(fields), templates)).steps;
      assert.ok(step && !step.fired);
      return `${step.stage}: ${step.reason}`;
    };
    assert.match(
      await stage({ pack: 'matrix', name: 'ReceivedMessage', payload: {} }),
      /^pack: the step listens to pack "slack", the event is from "matrix"/,
    );
    assert.match(
      await stage({ pack: 'slack', name: 'ReactionAdded', payload: {} }),
      /^name: the step listens to ReceivedMessage/,
    );
    assert.match(
      await stage({ pack: 'slack', name: 'ReceivedMessage', payload: { message: 'hello' } }),
      /^criteria: the criteria rendered "false"/,
    );
  });

  test('a template that fails to render is the outcome, not a throw', async () => {
    const flow: Flow = {
      name: 'broken',
      steps: [
        {
          event: { packName: 'slack', name: 'ReceivedMessage' },
          command: {
            packName: 'slack',
            name: 'X',
            input: { value: '{{ Event.Payload.message | unmarshalJson }}' },
          },
        },
      ],
    };
    const [step] = (await dryRunFlow(flow, echoHello, templates)).steps;
    assert.ok(step && !step.fired);
    assert.equal(step.stage, 'error');
    assert.match(step.reason, /unmarshalJson: invalid JSON/);
    assert.equal(step.stepId, '#0');
  });

  test('a step with dependsOn does not fire on a new event, and says after whose result it would', async () => {
    const result = await dryRunFlow(chain, echoHello, templates);
    assert.deepEqual(
      result.steps.map((step) => `${step.stepId}:${step.fired ? 'fired' : step.stage}`),
      ['b:dependsOn', 'a:fired', 'c:dependsOn', '#3:criteria'],
    );
    assert.equal(result.fired, 1);
    const [b, , c] = result.steps;
    assert.ok(b && !b.fired && b.stage === 'dependsOn');
    assert.equal(b.reason, "it runs on the result of a's command (slack.SendMessage), not on this event");
    assert.ok(c && !c.fired && c.stage === 'dependsOn');
    assert.equal(
      c.reason,
      'it runs only on the result of the command of x or b, and none of x, b fired for this event',
    );
  });

  test('a result event tried against a continuing step says what the step would do with it', async () => {
    const sent = event({ pack: 'slack', name: 'MessageSent', payload: { channelId: 'C9' } });
    const [b] = (await dryRunFlow(chain, sent, templates)).steps;
    assert.ok(b && !b.fired && b.stage === 'dependsOn');
    assert.equal(
      b.reason,
      'it runs only on the result of the command of a, and a did not fire for this event',
    );
    assert.ok(b.ifContinued.fired);
    // a did not fire on this event, so no context reaches b: Context.Msg renders empty.
    assert.deepEqual(b.ifContinued.command.payload, { text: 'sent  in C9' });
  });

  test('the datastore of the template engine is what the dry run reads', async () => {
    const flow: Flow = {
      name: 'store',
      steps: [
        {
          event: { packName: 'slack', name: 'ReceivedMessage' },
          command: { packName: 'slack', name: 'X', input: { channel: "{{ 'room' | datastore }}" } },
        },
      ],
    };
    const [step] = (await dryRunFlow(flow, echoHello, templates)).steps;
    assert.ok(step?.fired);
    assert.deepEqual(step.command.payload, { channel: '#ops' });
  });
});

test('dryRunFlows runs every flow and names the file and version each came from', async () => {
  const results = await dryRunFlows(
    [loadedFlow(echo, 'v-echo'), loadedFlow(chain, 'v-chain')],
    echoHello,
    templates,
  );
  assert.deepEqual(
    results.map(({ flow, file, version, fired }) => ({ flow, file, version, fired })),
    [
      { flow: 'echo', file: 'echo.json', version: 'v-echo', fired: 1 },
      { flow: 'chain', file: 'chain.json', version: 'v-chain', fired: 1 },
    ],
  );
});
