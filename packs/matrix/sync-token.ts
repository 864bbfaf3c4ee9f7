import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { readTextIfExists, writeFileAtomically } from '../../shared/files.ts';

/**
 * The last sync batch whose events are all on the bus (`<stateDir>/sync.json`), so that a restart
 * resumes there: nothing missed while the pack was down, nothing emitted twice. Without a state
 * directory it lives in memory and a restart starts from the present.
 */
export class SyncToken {
  readonly #file: string | undefined;
  readonly #userId: string;
  #since: string | undefined;

  private constructor(file: string | undefined, userId: string, since: string | undefined) {
    this.#file = file;
    this.#userId = userId;
    this.#since = since;
  }

  static async open(stateDir: string | undefined, userId: string): Promise<SyncToken> {
    if (!stateDir) return new SyncToken(undefined, userId, undefined);
    await mkdir(stateDir, { recursive: true });
    const file = join(stateDir, 'sync.json');
    let since: string | undefined;
    try {
      const saved = JSON.parse((await readTextIfExists(file)) ?? '{}') as { userId?: string; since?: string };
      // A token of another account would skip or replay that account's events.
      if (saved.userId === userId && typeof saved.since === 'string') since = saved.since;
    } catch {
      since = undefined;
    }
    return new SyncToken(file, userId, since);
  }

  get since(): string | undefined {
    return this.#since;
  }

  async save(since: string): Promise<void> {
    this.#since = since;
    if (this.#file)
      await writeFileAtomically(this.#file, `${JSON.stringify({ userId: this.#userId, since })}\n`);
  }
}
