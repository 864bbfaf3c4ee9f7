import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { json, type Row, text, toJson } from './rows.ts';

/** A command as a pack announced it in PackStarted. */
export interface AnnouncedCommand {
  name: string;
  inputSchema?: Record<string, unknown>;
  events?: string[];
}

/** The commands each pack announced last, so flows can be checked against them. */
export class PackManifests {
  readonly #now: () => Date;
  readonly #save: StatementSync;
  readonly #all: StatementSync;

  constructor(db: DatabaseSync, now: () => Date) {
    this.#now = now;
    this.#save = db.prepare(
      `INSERT INTO pack_manifests (pack, manifest, updated_at) VALUES (?, ?, ?)
       ON CONFLICT (pack) DO UPDATE SET manifest = excluded.manifest, updated_at = excluded.updated_at`,
    );
    this.#all = db.prepare('SELECT pack, manifest FROM pack_manifests ORDER BY pack');
  }

  save(pack: string, commands: AnnouncedCommand[]): void {
    this.#save.run(pack, toJson({ commands }, 'the pack manifest'), this.#now().toISOString());
  }

  all(): Map<string, AnnouncedCommand[]> {
    const manifests = new Map<string, AnnouncedCommand[]>();
    for (const row of this.#all.all() as Row[]) {
      const manifest = json(row, 'manifest') as { commands?: AnnouncedCommand[] };
      manifests.set(text(row, 'pack'), manifest.commands ?? []);
    }
    return manifests;
  }
}
