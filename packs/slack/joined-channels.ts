import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

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
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
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
    // Writes are serialised and each replaces the file whole (write, then rename), so a crash leaves
    // either the old record or the new one, never half of one.
    this.#writes = this.#writes.then(async () => {
      const temporary = `${file}.tmp`;
      await writeFile(temporary, snapshot);
      await rename(temporary, file);
    });
    return this.#writes;
  }
}
