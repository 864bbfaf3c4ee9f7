import { type FSWatcher, watch } from 'node:fs';

export interface DirectoryWatcherOptions {
  /** Only events naming this file count (watching a file's directory follows editors that save by rename). Default: any. */
  fileName?: string;
  /** Quiet time after the last event before `reload` runs. */
  debounceMs: number;
  /** Runs once the events have settled; runs never overlap. */
  reload: () => Promise<void>;
  /** The watch itself failed (`watch`), or a reload threw (`reload`). */
  onError: (kind: 'watch' | 'reload', error: Error) => void;
}

/**
 * Follows a directory for the flows and the audiences file: events are debounced, reloads run one after
 * another, and nothing runs after `close` resolves. Throws what fs.watch throws when it cannot watch.
 */
export class DirectoryWatcher {
  readonly #options: DirectoryWatcherOptions;
  readonly #watcher: FSWatcher;
  #timer: NodeJS.Timeout | undefined;
  #reloading: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(dir: string, options: DirectoryWatcherOptions) {
    this.#options = options;
    this.#watcher = watch(dir, (_event, filename) => {
      // Some platforms give no filename; then any event may be the one.
      if (!options.fileName || filename === null || filename === options.fileName) this.#schedule();
    });
    this.#watcher.on('error', (error) => {
      if (!this.#closed) options.onError('watch', error);
    });
  }

  /** Stops watching; waits for a reload under way. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#watcher.close();
    await this.#reloading;
  }

  #schedule(): void {
    if (this.#closed) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#reloading = this.#reloading.then(() =>
        this.#options.reload().catch((error: unknown) => {
          if (!this.#closed) this.#options.onError('reload', error as Error);
        }),
      );
    }, this.#options.debounceMs);
  }
}
