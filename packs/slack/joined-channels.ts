import { mkdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { readTextIfExists, writeFileAtomically } from '../../shared/files.ts';

/**
 * The channels the pack has joined, its own record (flyte-slack's channels.json): kept in memory, and in
 * `<stateDir>/channels.json` when there is a state directory, written atomically on every change.
 */
export class JoinedChannels {
  readonly #file: string | undefined;
  readonly #channels = new Set<string>();
  #writes: Promise<void> = Promise.resolve();

  private constructor(file: string | undefined) {
    this.#file = file;
  }

  /**
   * Loads the record. A file that is not a JSON array of channel ids is set aside (renamed with a
   * `.corrupt-<time>` suffix) and reported through `onCorrupt`; the pack starts with an empty record.
   */
  static async open(options: {
    stateDir?: string | undefined;
    onCorrupt?: (file: string, reason: string) => void;
  }): Promise<JoinedChannels> {
    if (!options.stateDir) return new JoinedChannels(undefined);
    await mkdir(options.stateDir, { recursive: true });
    const record = new JoinedChannels(join(options.stateDir, 'channels.json'));
    await record.#load(options.onCorrupt ?? (() => {}));
    return record;
  }

  list(): string[] {
    return [...this.#channels].sort();
  }

  has(channelId: string): boolean {
    return this.#channels.has(channelId);
  }

  /** Resolves once the change is on disk (when persisted). */
  async add(channelId: string): Promise<void> {
    if (this.#channels.has(channelId)) return;
    this.#channels.add(channelId);
    await this.#save();
  }

  async remove(channelId: string): Promise<void> {
    if (!this.#channels.delete(channelId)) return;
    await this.#save();
  }

  async #load(onCorrupt: (file: string, reason: string) => void): Promise<void> {
    const file = this.#file as string;
    const text = await readTextIfExists(file);
    if (text === undefined) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      parsed = error;
    }
    if (!Array.isArray(parsed) || !parsed.every((item) => typeof item === 'string')) {
      const aside = `${file}.corrupt-${Date.now()}`;
      await rename(file, aside);
      onCorrupt(aside, parsed instanceof Error ? parsed.message : 'not a JSON array of channel ids');
      return;
    }
    for (const channel of parsed) this.#channels.add(channel);
  }

  #save(): Promise<void> {
    if (!this.#file) return Promise.resolve();
    const file = this.#file;
    const snapshot = `${JSON.stringify(this.list())}\n`;
    // Serialised, so the file always ends with the latest record.
    this.#writes = this.#writes.then(() => writeFileAtomically(file, snapshot));
    return this.#writes;
  }
}
