import assert from 'node:assert/strict';
import type { Bus } from '../../shared/bus/bus.ts';
import { COMMANDS_EXCHANGE, routingKey } from '../../shared/bus/topology.ts';
import { createEnvelope, type Envelope } from '../../shared/envelope.ts';
import type { EventCollector } from './bus.ts';
import { CLI, type Spawned, spawnNode } from './processes.ts';

/**
 * One pack as users run it (`switchboard pack <name>` or `switchboard all`), at most one at a time, so
 * that the tests of a file never have two instances competing for the pack's queue; and the commands the
 * tests send it, with their results as `events` collects them.
 */
export class PackProcess {
  readonly #pack: string;
  readonly #bus: Bus;
  readonly #events: EventCollector;
  #running: Spawned | undefined;

  constructor(pack: string, bus: Bus, events: EventCollector) {
    this.#pack = pack;
    this.#bus = bus;
    this.#events = events;
  }

  get running(): Spawned | undefined {
    return this.#running;
  }

  /** Starts the CLI with `args` and resolves once the pack announced PackStarted. */
  async start(args: string[], env: NodeJS.ProcessEnv): Promise<Spawned> {
    assert.equal(this.#running, undefined, `one ${this.#pack} pack at a time`);
    const started = (event: Envelope) => event.name === 'PackStarted' && event.pack === this.#pack;
    const seen = this.#events.events.filter(started).length;
    const spawned = spawnNode(CLI, args, env);
    this.#running = spawned;
    await this.#events.waitFor(started, seen + 1, 30_000);
    return spawned;
  }

  /** Signals the running process and resolves with its exit status (null when killed, or none running). */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    const running = this.release();
    if (!running) return null;
    running.child.kill(signal);
    return running.exit;
  }

  /** Forgets the running process without signalling it (a test that expects it to exit by itself). */
  release(): Spawned | undefined {
    const running = this.#running;
    this.#running = undefined;
    return running;
  }

  async send(name: string, payload: unknown): Promise<Envelope> {
    const command = createEnvelope({ kind: 'command', pack: this.#pack, name, payload });
    await this.#bus.publish(
      { exchange: COMMANDS_EXCHANGE, routingKey: routingKey(this.#pack, name) },
      command,
    );
    return command;
  }

  async resultOf(command: Envelope, timeoutMs = 20_000): Promise<Envelope> {
    const [result] = await this.#events.waitFor((event) => event.causationId === command.id, 1, timeoutMs);
    return result as Envelope;
  }
}
