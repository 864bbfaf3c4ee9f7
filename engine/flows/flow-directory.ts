import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { DirectoryWatcher } from '../../shared/directory-watcher.ts';
import type { Flow, LoadedFlow } from '../flow.ts';
import { type FlowProblem, parseFlow } from './parse-flow.ts';

export interface FlowDirectoryOptions {
  /** Directory whose `*.json`, `*.yaml` and `*.yml` files are flows; subdirectories are not read. */
  dir: string;
  /** Called with every flow in force, sorted by file, each time that set changes after open(). Default: none. */
  onChange?: (flows: readonly LoadedFlow[]) => void;
  /** Called with the problems a load found, the initial one included. Default: none. */
  onProblems?: (problems: FlowProblem[]) => void;
  /** Reload when files change. Default: true. */
  watch?: boolean;
  /** Quiet time after the last file event before the directory is read again. Default: 100 ms. */
  debounceMs?: number;
  /** Checks beyond the schema (the engine parses every template); a flow with problems is not taken. Default: none. */
  validate?: (flow: Flow, file: string) => FlowProblem[];
}

/** What the directory last held for one file. */
interface FileState {
  /** Hash of the bytes last read, good or bad: an unchanged bad file is not reported again. */
  hash: string;
  /** The bytes last read, as text. */
  text: string;
  /** What parsing and validating those bytes found; kept while they stay unchanged. */
  problems: FlowProblem[];
  /** The last version that parsed; it stays in force while the file is broken. */
  good: LoadedFlow | undefined;
  /** The text `good` was loaded from. */
  goodText: string | undefined;
}

/** One flow file as the directory last read it: what it says, what is wrong with it, what of it runs. */
export interface FlowFile {
  file: string;
  /** The file's text as last read; undefined when it could never be read. */
  text: string | undefined;
  /**
   * What is wrong with the file now (reading it, parsing it, the checks, a name clash), as onProblems
   * reported it; empty when the file's flow is in force as written.
   */
  problems: readonly FlowProblem[];
  /** The version of this file in force, with its text: the current one, or the last good one while it is broken. */
  inForce: { loaded: LoadedFlow; text: string } | undefined;
}

/** Files that sit next to flows but are other documents. */
const OTHER_DOCUMENTS = new Set(['audiences.json', 'audiences.yaml', 'audiences.yml']);
const FLOW_EXTENSIONS = new Set(['.json', '.yaml', '.yml']);

/**
 * The flows of one directory, kept current while files are added, edited and removed.
 * A file that stops parsing keeps its last good version in force; its problems go to onProblems.
 * A callback that throws is a bug in the caller: its error is rethrown as an uncaught exception,
 * and the directory carries on.
 */
export class FlowDirectory {
  readonly #dir: string;
  readonly #onChange: (flows: readonly LoadedFlow[]) => void;
  readonly #onProblems: (problems: FlowProblem[]) => void;
  readonly #debounceMs: number;
  readonly #validate: (flow: Flow, file: string) => FlowProblem[];
  readonly #files = new Map<string, FileState>();
  /** Name clashes already reported, as `loser@version>winner`: each is reported once, until it changes. */
  #reportedClashes = new Set<string>();
  /** The current problems no FileState holds: files that could not be read, flows ignored for a name clash. */
  #readProblems = new Map<string, FlowProblem>();
  #clashProblems = new Map<string, FlowProblem>();
  #current: readonly LoadedFlow[] = [];
  #watcher: DirectoryWatcher | undefined;
  #closed = false;

  private constructor(options: FlowDirectoryOptions) {
    this.#dir = options.dir;
    this.#onChange = options.onChange ?? (() => {});
    this.#onProblems = options.onProblems ?? (() => {});
    this.#debounceMs = options.debounceMs ?? 100;
    this.#validate = options.validate ?? (() => []);
  }

  /** Loads the directory and, unless `watch` is false, follows its changes. Rejects if dir is not a directory. */
  static async open(options: FlowDirectoryOptions): Promise<FlowDirectory> {
    const directory = new FlowDirectory(options);
    const info = await stat(options.dir).catch((error: NodeJS.ErrnoException) => {
      const why = error.code === 'ENOENT' ? 'does not exist' : `cannot be read: ${error.message}`;
      throw new Error(`flow directory ${options.dir} ${why}`, { cause: error });
    });
    if (!info.isDirectory()) throw new Error(`flow directory ${options.dir} is not a directory`);
    // Watch before the first read, so that a file written during it is not missed.
    if (options.watch ?? true) directory.#watch();
    try {
      await directory.#reload({ initial: true });
    } catch (error) {
      await directory.close();
      throw error;
    }
    return directory;
  }

  /** The good version of every flow, sorted by file. */
  flows(): readonly LoadedFlow[] {
    return this.#current;
  }

  /**
   * Every flow file of the last read, sorted by name, with its current problems and the version of it in
   * force: what `flows check` would say of each, for the console. The engine reads flows() only.
   */
  files(): FlowFile[] {
    const inForce = new Map(this.#current.map((loaded) => [loaded.file, loaded]));
    const names = new Set([...this.#files.keys(), ...this.#readProblems.keys()]);
    return [...names].sort().map((file) => {
      const state = this.#files.get(file);
      const loaded = inForce.get(file);
      const read = this.#readProblems.get(file);
      const clash = this.#clashProblems.get(file);
      return {
        file,
        text: state?.text,
        problems: [...(read ? [read] : []), ...(state?.problems ?? []), ...(clash ? [clash] : [])],
        inForce: loaded && state?.goodText !== undefined ? { loaded, text: state.goodText } : undefined,
      };
    });
  }

  /** Stops watching; waits for a reload under way. No callback runs after this resolves. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#watcher?.close();
    this.#watcher = undefined;
  }

  #watch(): void {
    const problem = (reason: string) => this.#report(this.#onProblems, [{ file: '.', path: '', reason }]);
    try {
      this.#watcher = new DirectoryWatcher(this.#dir, {
        debounceMs: this.#debounceMs,
        reload: () => this.#reload({ initial: false }),
        onError: (kind, error) =>
          // After a failed read the flows in force stay: the directory may be back on the next event.
          problem(`${kind === 'watch' ? 'watching' : 'reading'} ${this.#dir} failed: ${error.message}`),
      });
    } catch (error) {
      throw new Error(`cannot watch flow directory ${this.#dir}: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  /** Reads the whole directory again and compares each file's hash with what it held before. */
  async #reload({ initial }: { initial: boolean }): Promise<void> {
    if (this.#closed) return;
    const problems: FlowProblem[] = [];
    const seen = new Set<string>();
    const readProblems = new Map<string, FlowProblem>();
    for (const file of await this.#flowFiles()) {
      const bytes = await readFile(join(this.#dir, file)).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return undefined; // removed since readdir: treated as gone
        const problem = { file, path: '', reason: `cannot read the file: ${error.message}` };
        problems.push(problem);
        readProblems.set(file, problem);
        return null;
      });
      if (bytes === undefined) continue;
      seen.add(file);
      if (bytes === null) continue;
      const hash = createHash('sha256').update(bytes).digest('hex');
      const previous = this.#files.get(file);
      if (previous?.hash === hash) continue;
      const text = bytes.toString('utf8');
      const parsed = parseFlow(file, text);
      const flowProblems = parsed.flow ? this.#validate(parsed.flow, file) : parsed.problems;
      problems.push(...flowProblems);
      const isGood = parsed.flow !== undefined && flowProblems.length === 0;
      this.#files.set(file, {
        hash,
        text,
        problems: flowProblems,
        good: isGood ? { flow: parsed.flow, file, version: hash.slice(0, 12) } : previous?.good,
        goodText: isGood ? text : previous?.goodText,
      });
    }
    for (const file of this.#files.keys()) if (!seen.has(file)) this.#files.delete(file);
    this.#readProblems = readProblems;

    const next = this.#resolveNameClashes(problems);
    if (this.#closed) return;
    const changed = !sameFlows(this.#current, next);
    this.#current = next;
    if (problems.length > 0) this.#report(this.#onProblems, problems);
    if (changed && !initial) this.#report(this.#onChange, next);
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

  async #flowFiles(): Promise<string[]> {
    const entries = await readdir(this.#dir, { withFileTypes: true });
    return entries
      .filter((entry) => (entry.isFile() || entry.isSymbolicLink()) && isFlowFileName(entry.name))
      .map((entry) => entry.name)
      .sort();
  }

  /** Two files with the same flow name: the first file in sort order wins, the other is reported. */
  #resolveNameClashes(problems: FlowProblem[]): LoadedFlow[] {
    const owners = new Map<string, string>();
    const kept: LoadedFlow[] = [];
    const clashes = new Set<string>();
    this.#clashProblems = new Map();
    for (const file of [...this.#files.keys()].sort()) {
      const loaded = this.#files.get(file)?.good;
      if (loaded === undefined) continue;
      const owner = owners.get(loaded.flow.name);
      if (owner === undefined) {
        owners.set(loaded.flow.name, file);
        kept.push(loaded);
        continue;
      }
      const key = `${file}@${loaded.version}>${owner}`;
      clashes.add(key);
      const problem = {
        file,
        path: '/name',
        reason: `flow '${loaded.flow.name}' is already defined by ${owner}; this file is ignored`,
      };
      this.#clashProblems.set(file, problem);
      if (!this.#reportedClashes.has(key)) problems.push(problem);
    }
    this.#reportedClashes = clashes;
    return kept;
  }
}

/** Skips dotfiles (and emacs `.#` locks), other documents, and anything not .json/.yaml/.yml (`*~`, `*.swp`). */
function isFlowFileName(name: string): boolean {
  if (name.startsWith('.')) return false;
  const lower = name.toLowerCase();
  return FLOW_EXTENSIONS.has(extname(lower)) && !OTHER_DOCUMENTS.has(lower);
}

function sameFlows(a: readonly LoadedFlow[], b: readonly LoadedFlow[]): boolean {
  return (
    a.length === b.length &&
    a.every((flow, index) => flow.file === b[index]?.file && flow.version === b[index]?.version)
  );
}
