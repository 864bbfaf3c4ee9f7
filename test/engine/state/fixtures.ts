import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { Flow } from '../../../engine/flow.ts';
import type { NewExecution, NewInstance } from '../../../engine/state/engine-store.ts';
import { createEnvelope, type Envelope } from '../../../shared/envelope.ts';

/** A clock the test moves by hand, for the store's `clock` option. */
export class ManualClock {
  #ms: number;

  constructor(start = '2024-05-01T12:00:00.000Z') {
    this.#ms = Date.parse(start);
  }

  readonly now = (): Date => new Date(this.#ms);

  advance(ms: number): void {
    this.#ms += ms;
  }
}

/** A fresh directory, removed when the test ends. */
export async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sb-engine-state-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export const echoFlow: Flow = {
  name: 'echo',
  steps: [
    {
      id: 'get_message',
      event: { packName: 'Slack', name: 'ReceivedMessage' },
      criteria: "{{ Event.Payload.message | match: '^echo\\\\s+' }}",
      context: { Msg: "{{ Event.Payload.message | slice:'5:' }}" },
      command: { packName: 'Slack', name: 'SendMessage', input: { message: '{{ Context.Msg }}' } },
    },
  ],
};

export function newInstance(correlationId: string, fields: Partial<NewInstance> = {}): NewInstance {
  return {
    correlationId,
    flowName: 'echo',
    flowVersion: 'a1b2c3d4e5f6',
    flow: echoFlow,
    context: {},
    stepsDone: [],
    ...fields,
  };
}

/** A pending execution of the echo flow's step; `command.id` is the execution id. */
export function newExecution(
  id: string,
  fields: Partial<Omit<NewExecution, 'id' | 'command'>> = {},
): NewExecution {
  const correlationId = fields.correlationId ?? 'instance-1';
  return {
    id,
    correlationId,
    flowName: 'echo',
    flowVersion: 'a1b2c3d4e5f6',
    stepId: 'get_message',
    triggerEvent: createEnvelope({
      kind: 'event',
      pack: 'Slack',
      name: 'ReceivedMessage',
      payload: { channelId: 'C1', message: 'echo hi' },
      correlationId,
    }),
    command: createEnvelope({
      id,
      kind: 'command',
      pack: 'Slack',
      name: 'SendMessage',
      payload: { channelId: 'C1', message: 'hi' },
      correlationId,
    }),
    startedAt: '2024-05-01T12:00:00.000Z',
    ...fields,
  };
}

/** The result event a pack sends for `commandId`. */
export function resultOf(commandId: string, name = 'MessageSent', payload: unknown = { ok: true }): Envelope {
  return createEnvelope({ kind: 'event', pack: 'Slack', name, payload, causationId: commandId });
}
