import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Envelope } from '../envelope.ts';
import { readTextIfExists, writeFileAtomically } from '../files.ts';

/**
 * The result events of the last `capacity` finished commands, by command id, so a command seen again
 * (redelivered by the broker, or re-sent by its publisher) is answered without running it twice.
 * With a state directory the record survives restarts (an append-only file, compacted as it grows).
 */
export class FinishedCommands {
  readonly #capacity: number;
  readonly #file: string | undefined;
  readonly #results = new Map<string, Envelope>();
  #appendedSinceCompaction = 0;
  #writes: Promise<void> = Promise.resolve();

  private constructor(capacity: number, file: string | undefined) {
    this.#capacity = capacity;
    this.#file = file;
  }

  /** Loads the record from `stateDir` when given. Capacity default: 10 000 commands. */
  static async open(options: {
    capacity?: number;
    stateDir?: string | undefined;
    pack: string;
  }): Promise<FinishedCommands> {
    const capacity = options.capacity ?? 10_000;
    if (!options.stateDir) return new FinishedCommands(capacity, undefined);
    await mkdir(options.stateDir, { recursive: true });
    const record = new FinishedCommands(
      capacity,
      join(options.stateDir, `${options.pack}.finished-commands.jsonl`),
    );
    await record.#load();
    return record;
  }

  get size(): number {
    return this.#results.size;
  }

  get(commandId: string): Envelope | undefined {
    return this.#results.get(commandId);
  }

  /** Resolves once the result is recorded (on disk, when persisted). */
  async add(commandId: string, result: Envelope): Promise<void> {
    this.#remember(commandId, result);
    if (!this.#file) return;
    const file = this.#file;
    const line = `${JSON.stringify({ commandId, result })}\n`;
    this.#appendedSinceCompaction++;
    const compact = this.#appendedSinceCompaction >= this.#capacity;
    if (compact) this.#appendedSinceCompaction = 0;
    this.#writes = this.#writes.then(() => (compact ? this.#compact(file) : appendFile(file, line)));
    await this.#writes;
  }

  #remember(commandId: string, result: Envelope): void {
    this.#results.delete(commandId);
    this.#results.set(commandId, result);
    if (this.#results.size > this.#capacity) {
      this.#results.delete(this.#results.keys().next().value as string);
    }
  }

  async #load(): Promise<void> {
    const text = await readTextIfExists(this.#file as string);
    if (text === undefined) return;
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      try {
        const entry = JSON.parse(line) as { commandId: string; result: Envelope };
        this.#remember(entry.commandId, entry.result);
      } catch {
        // A line cut short by a crash mid-write: the command it recorded may run again, nothing else is lost.
      }
    }
  }

  async #compact(file: string): Promise<void> {
    const lines = [...this.#results].map(([commandId, result]) => JSON.stringify({ commandId, result }));
    await writeFileAtomically(file, `${lines.join('\n')}\n`);
  }
}
