import type { AnnouncedCommand, PackAnnouncement, PackDirectory } from './pack-directory.ts';

/** Why a command is not sent: an HTTP status, a stable code and a sentence (the console's error body). */
export interface CommandRefusal {
  status: number;
  code: string;
  message: string;
}

/** A check that refused, with the answer to give. */
export type Refused = { ok: false; refusal: CommandRefusal };

export type CommandLookup = { ok: true; announcement: PackAnnouncement; command: AnnouncedCommand } | Refused;

export interface LookupOptions {
  /** Who is asking, for the hint when no pack was ever seen: `the console`, `the ci-webhook pack`. */
  asker: string;
  /** The packs the sender may send to, of those known (a token's allow list). Default: all. */
  mayName?: (pack: string) => boolean;
}

/**
 * The command `<pack>.<name>` as its pack announced it in PackStarted, or a 404 that helps: naming the packs
 * known (those the sender may send to), or the pack's commands, or, when no pack has announced itself at
 * all, why that may be. The console's Send page and the HTTP command API both answer with these.
 */
export function findCommand(
  directory: PackDirectory,
  pack: string,
  name: string,
  options: LookupOptions,
): CommandLookup {
  const announcement = directory.announcement(pack);
  if (!announcement) {
    const known = directory
      .announcements()
      .map((each) => each.pack)
      .filter((each) => options.mayName?.(each) ?? true);
    return refuse(
      404,
      'unknown_pack',
      known.length === 0
        ? `no pack "${pack}": no pack has announced itself to ${options.asker} (packs announce their commands when they start, and the running ones answer when ${options.asker} starts): is a "${pack}" pack running on this broker?`
        : `no pack "${pack}" has announced itself; the packs known are ${known.join(', ')}`,
    );
  }
  const command = announcement.commands.find((each) => each.name === name);
  if (!command) {
    const names = announcement.commands.map((each) => each.name);
    return refuse(
      404,
      'unknown_command',
      names.length === 0
        ? `the ${pack} pack announces no command`
        : `the ${pack} pack announces no command "${name}"; its commands are ${names.join(', ')}`,
    );
  }
  return { ok: true, announcement, command };
}

function refuse(status: number, code: string, message: string): CommandLookup {
  return { ok: false, refusal: { status, code, message } };
}
