import type { Bus } from '../../shared/bus/bus.ts';
import { COMMANDS_EXCHANGE, EVENTS_EXCHANGE, routingKey } from '../../shared/bus/topology.ts';
import { createEnvelope, type Envelope } from '../../shared/envelope.ts';

/**
 * Plays the Slack pack for the echo flow: answers each SendMessage with MessageSent, except the first
 * command of an instance whose message says "fail", which gets SendMessageFailed. A command run again has
 * a new command id: it succeeds at once, or with `holdRetries` waits until the test releases it, so a
 * page can be seen waiting for its result.
 */
export class EchoSlack {
  /** Every SendMessage received, in order. */
  readonly commands: Envelope[] = [];
  readonly #failed = new Set<string>();
  readonly #held: Envelope[] = [];
  readonly #bus: Bus;
  readonly #holdRetries: boolean;

  private constructor(bus: Bus, holdRetries: boolean) {
    this.#bus = bus;
    this.#holdRetries = holdRetries;
  }

  static async start(bus: Bus, options: { holdRetries?: boolean } = {}): Promise<EchoSlack> {
    const slack = new EchoSlack(bus, options.holdRetries ?? false);
    await bus.consume(
      {
        durability: 'private',
        bindings: [{ exchange: COMMANDS_EXCHANGE, pattern: 'slack.SendMessage' }],
        kind: 'command',
        prefetch: 100,
      },
      async ({ envelope }) => {
        slack.commands.push(envelope);
        const correlationId = envelope.correlationId as string;
        if (slack.#failed.has(correlationId)) {
          if (slack.#holdRetries) slack.#held.push(envelope);
          else await slack.#answer(envelope, 'MessageSent', { channelId: 'C1', timestamp: '1.2' });
        } else if (String((envelope.payload as { message?: unknown }).message).includes('fail')) {
          slack.#failed.add(correlationId);
          await slack.#answer(envelope, 'SendMessageFailed', {
            errorCode: 'not_found',
            error: 'channel_not_found',
          });
        } else await slack.#answer(envelope, 'MessageSent', { channelId: 'C1', timestamp: '1.2' });
      },
    );
    return slack;
  }

  get held(): readonly Envelope[] {
    return this.#held;
  }

  /** Answers every held command with success. */
  async release(): Promise<void> {
    for (const command of this.#held.splice(0)) {
      await this.#answer(command, 'MessageSent', { channelId: 'C1', timestamp: '3.4' });
    }
  }

  #answer(command: Envelope, name: string, payload: unknown): Promise<void> {
    const result = createEnvelope({
      kind: 'event',
      pack: 'slack',
      name,
      payload,
      correlationId: command.correlationId,
      causationId: command.id,
    });
    return this.#bus.publish({ exchange: EVENTS_EXCHANGE, routingKey: routingKey('slack', name) }, result);
  }
}
