import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DirectoryWatcher } from '../../shared/directory-watcher.ts';
import { readTextIfExists } from '../../shared/files.ts';
import { type AudienceProblem, Audiences, parseAudiences } from './audiences.ts';

/** Names the mapping may have in the flows directory, in the order they are looked for. */
const FILE_NAMES = ['audiences.json', 'audiences.yaml', 'audiences.yml'];

/**
 * The audiences file of a flows directory: the first of audiences.json, .yaml and .yml that
 * exists, else the .json path (so that a file created later under that name is picked up).
 */
export function findAudiencesFile(flowsDir: string): string {
  const found = FILE_NAMES.map((name) => join(flowsDir, name)).find(
    (file) => statSync(file, { throwIfNoEntry: false })?.isFile() ?? false,
  );
  return found ?? join(flowsDir, 'audiences.json');
}

export interface AudiencesFileOptions {
  /** The mapping: a .json, .yaml or .yml file. Its directory must exist; the file itself may not (no groups). */
  file: string;
  /** Called with the new mapping each time a different one takes effect after open(): a good edit, or the file removed. Default: none. */
  onChange?: (audiences: Audiences) => void;
  /** Called with the problems of each new bad version of the file, the initial one included; the mapping in force stays. Default: none. */
  onProblems?: (problems: AudienceProblem[]) => void;
  /** Called when the file is missing at start, or removed later: not an error, but no group is defined. Default: none. */
  onInfo?: (message: string) => void;
  /** Reload when the file changes. Default: true. */
  watch?: boolean;
  /** Quiet time after the last file event before the file is read again. Default: 100 ms. */
  debounceMs?: number;
}

/** `#lastRead` when the file was found missing. */
const MISSING = 'missing';
/** `#inForce` of the empty mapping: no file, or no good version of it yet. */
const EMPTY = '';

/**
 * An audiences file, kept current while it is edited. A missing file is an empty mapping; a
 * version that does not parse is reported and the previous mapping stays in force; removing the
 * file empties the mapping (and is reported through onInfo). A callback that throws is a bug in
 * the caller: its error is rethrown as an uncaught exception, and watching carries on.
 */
export class AudiencesFile {
  readonly #file: string;
  readonly #onChange: (audiences: Audiences) => void;
  readonly #onProblems: (problems: AudienceProblem[]) => void;
  readonly #onInfo: (message: string) => void;
  readonly #debounceMs: number;
  #current = new Audiences();
  /** Hash of the bytes last read, good or bad, or MISSING: an unchanged file is not parsed or reported again. */
  #lastRead: string | undefined;
  /** Hash of the version in force, or EMPTY. */
  #inForce = EMPTY;
  #watcher: DirectoryWatcher | undefined;
  #closed = false;

  private constructor(options: AudiencesFileOptions) {
    this.#file = options.file;
    this.#onChange = options.onChange ?? (() => {});
    this.#onProblems = options.onProblems ?? (() => {});
    this.#onInfo = options.onInfo ?? (() => {});
    this.#debounceMs = options.debounceMs ?? 100;
  }

  /** Reads the file and, unless `watch` is false, follows its changes. Rejects if its directory is missing. */
  static async open(options: AudiencesFileOptions): Promise<AudiencesFile> {
    const audiencesFile = new AudiencesFile(options);
    const dir = dirname(options.file);
    const info = await stat(dir).catch((error: NodeJS.ErrnoException) => {
      const why = error.code === 'ENOENT' ? 'does not exist' : `cannot be read: ${error.message}`;
      throw new Error(`the directory of audiences file ${options.file} ${why}`, { cause: error });
    });
    if (!info.isDirectory())
      throw new Error(`${dir}, the directory of audiences file ${options.file}, is not a directory`);
    // Watch before the first read, so that an edit made during it is not missed.
    if (options.watch ?? true) audiencesFile.#watch(dir);
    try {
      await audiencesFile.#reload({ initial: true });
    } catch (error) {
      await audiencesFile.close();
      throw error;
    }
    return audiencesFile;
  }

  /** The mapping in force. */
  current(): Audiences {
    return this.#current;
  }

  /** Stops watching; waits for a reload under way. No callback runs after this resolves. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#watcher?.close();
    this.#watcher = undefined;
  }

  /**
   * Watches the directory, not the file: editors that save by writing another file and renaming
   * it over this one leave a watch on the file itself following the old, unlinked inode.
   */
  #watch(dir: string): void {
    try {
      this.#watcher = new DirectoryWatcher(dir, {
        fileName: basename(this.#file),
        debounceMs: this.#debounceMs,
        reload: () => this.#reload({ initial: false }),
        onError: (kind, error) =>
          // A failed reload is a bug rather than a bad file: the mapping in force stays.
          this.#report(this.#onProblems, [
            this.#problem(
              kind === 'watch'
                ? `watching ${dir} failed: ${error.message}`
                : `reloading failed: ${error.message}`,
            ),
          ]),
      });
    } catch (error) {
      throw new Error(`cannot watch ${dir} for audiences file ${this.#file}: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  async #reload({ initial }: { initial: boolean }): Promise<void> {
    let text = await this.#read();
    if (text === null || this.#closed) return;
    if (text === undefined && !initial && this.#lastRead !== MISSING) {
      // An editor saving by rename may leave a moment without the file: look once more before emptying.
      await sleep(this.#debounceMs);
      if (this.#closed) return;
      text = await this.#read();
      if (text === null || this.#closed) return;
    }
    if (text === undefined) {
      this.#taken(MISSING, EMPTY, new Audiences(), initial);
      return;
    }
    const hash = createHash('sha256').update(text).digest('hex');
    if (hash === this.#lastRead) return;
    const parsed = parseAudiences(text, this.#file);
    if (!parsed.ok) {
      this.#lastRead = hash;
      this.#report(this.#onProblems, parsed.problems);
      return;
    }
    this.#taken(hash, hash, parsed.audiences, initial);
  }

  /** The file's text; undefined when it is missing; null when it could not be read (reported, mapping kept). */
  async #read(): Promise<string | undefined | null> {
    try {
      return await readTextIfExists(this.#file);
    } catch (error) {
      // Not remembered as read: the next event tries again.
      this.#lastRead = undefined;
      this.#report(this.#onProblems, [this.#problem(`cannot read the file: ${(error as Error).message}`)]);
      return null;
    }
  }

  #taken(lastRead: string, version: string, audiences: Audiences, initial: boolean): void {
    const wasMissing = this.#lastRead === MISSING;
    this.#lastRead = lastRead;
    if (lastRead === MISSING && !wasMissing) {
      this.#report(
        this.#onInfo,
        initial
          ? `no audiences file at ${this.#file}: no audience groups are defined until it is created`
          : `audiences file ${this.#file} was removed: no audience groups are defined until it is created again`,
      );
    }
    if (version === this.#inForce) return;
    this.#inForce = version;
    this.#current = audiences;
    if (!initial) this.#report(this.#onChange, audiences);
  }

  #problem(reason: string): AudienceProblem {
    return { file: this.#file, path: '', reason };
  }

  /** Calls back outside our own error handling, so that a caller's bug is not taken for a read error. */
  #report<T>(callback: (value: T) => void, value: T): void {
    try {
      callback(value);
    } catch (error) {
      queueMicrotask(() => {
        throw error;
      });
    }
  }
}
