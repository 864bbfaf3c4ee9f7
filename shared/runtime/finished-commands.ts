import { appendFile, mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import type { Envelope } from '../envelope.ts';
import { writeFileAtomically } from '../files.ts';

export interface FinishedCommandsOptions {
  /** Commands remembered. Default: 10 000. */
  capacity?: number;
  /** Where the record is kept across restarts. Default: unset (memory only). */
  stateDir?: string | undefined;
  pack: string;
  /** Appends text to a file; tests pass one that fails. Default: fs.appendFile. */
  appendFile?: (file: string, text: string) => Promise<void>;
}

/**
 * The result events of the last `capacity` finished commands, by command id, so a command seen again
 * (redelivered by the broker, or re-sent by its publisher) is answered without running it twice.
 * With a state directory the record survives restarts: an append-only file of one JSON line per command,
 * rewritten whole (compacted) once it holds twice the capacity, and at start when it holds more than the
 * capacity, so it stays within 2 x capacity lines however often the pack restarts.
 */
export class FinishedCommands {
  readonly #capacity: number;
  readonly #file: string | undefined;
  readonly #appendFile: (file: string, text: string) => Promise<void>;
  readonly #results = new Map<string, Envelope>();
  /** Lines in the file, readable or not. */
  #linesOnDisk = 0;
  /**
   * True when the file may not match the record: a write failed (perhaps halfway, leaving a partial line
   * that the next append would run into), or it was found with unreadable lines. The next write rewrites it.
   */
  #mustRewrite = false;
  /** The writes in order; each one's failure is its own caller's, never the next write's. */
  #writes: Promise<void> = Promise.resolve();

  private constructor(capacity: number, file: string | undefined, options: FinishedCommandsOptions) {
    this.#capacity = capacity;
    this.#file = file;
    this.#appendFile = options.appendFile ?? ((path, text) => appendFile(path, text));
  }

  /** Loads the record from `stateDir` when given, compacting a file that holds more than the capacity. */
  static async open(options: FinishedCommandsOptions): Promise<FinishedCommands> {
    const capacity = options.capacity ?? 10_000;
    if (!options.stateDir) return new FinishedCommands(capacity, undefined, options);
    await mkdir(options.stateDir, { recursive: true });
    const file = join(options.stateDir, `${options.pack}.finished-commands.jsonl`);
    const record = new FinishedCommands(capacity, file, options);
    await record.#load(file);
    if (record.#mustRewrite || record.#linesOnDisk > capacity) await record.#write(file, undefined);
    return record;
  }

  get size(): number {
    return this.#results.size;
  }

  get(commandId: string): Envelope | undefined {
    return this.#results.get(commandId);
  }

  /** Resolves once the result is recorded (on disk, when persisted); rejects when that write failed. */
  async add(commandId: string, result: Envelope): Promise<void> {
    this.#remember(commandId, result);
    if (!this.#file) return;
    await this.#write(this.#file, `${JSON.stringify({ commandId, result })}\n`);
  }

  /** Appends `line`, or rewrites the file from the record when it is due (always when `line` is undefined). */
  #write(file: string, line: string | undefined): Promise<void> {
    const write = this.#writes.then(async () => {
      const rewrite = line === undefined || this.#mustRewrite || this.#linesOnDisk >= 2 * this.#capacity;
      try {
        if (rewrite) {
          // The record already holds the new result, so the rewrite records it too.
          await this.#compact(file);
          this.#linesOnDisk = this.#results.size;
        } else {
          await this.#appendFile(file, line);
          this.#linesOnDisk++;
        }
        this.#mustRewrite = false;
      } catch (error) {
        this.#mustRewrite = true;
        throw error;
      }
    });
    this.#writes = write.catch(() => {});
    return write;
  }

  #remember(commandId: string, result: Envelope): void {
    this.#results.delete(commandId);
    this.#results.set(commandId, result);
    if (this.#results.size > this.#capacity) {
      this.#results.delete(this.#results.keys().next().value as string);
    }
  }

  /** Reads the file line by line: it may hold up to twice the capacity, too much for one string. */
  async #load(file: string): Promise<void> {
    let handle: Awaited<ReturnType<typeof open>>;
    try {
      handle = await open(file, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    try {
      for await (const line of handle.readLines({ autoClose: false })) {
        if (line.trim() === '') continue;
        this.#linesOnDisk++;
        try {
          const entry = JSON.parse(line) as { commandId: string; result: Envelope };
          this.#remember(entry.commandId, entry.result);
        } catch {
          // A line cut short by a crash mid-write: the command it recorded may run again, nothing else is
          // lost, as long as the next line does not start on the end of it.
          this.#mustRewrite = true;
        }
      }
      // A last line without its newline (a write cut short) would swallow the next append.
      const { size } = await handle.stat();
      if (size > 0) {
        const last = Buffer.alloc(1);
        await handle.read(last, 0, 1, size - 1);
        if (last[0] !== 0x0a) this.#mustRewrite = true;
      }
    } finally {
      await handle.close();
    }
  }

  async #compact(file: string): Promise<void> {
    const lines = [...this.#results].map(([commandId, result]) => JSON.stringify({ commandId, result }));
    await writeFileAtomically(file, lines.length === 0 ? '' : `${lines.join('\n')}\n`);
  }
}
