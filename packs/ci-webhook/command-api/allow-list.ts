/**
 * What an API token may send: `pack.Command` (that command), `pack.*` (every command of the pack), `*`
 * (anything). Nothing else, so that a typo cannot silently allow more, or less, than meant.
 */
export type AllowPattern =
  | { kind: 'any' }
  | { kind: 'pack'; pack: string }
  | { kind: 'command'; pack: string; command: string };

const PACK = '[a-z][a-z0-9-]{0,62}';
const COMMAND = '[A-Z][A-Za-z0-9]{0,99}';
const PATTERN = new RegExp(`^(?:\\*|(${PACK})\\.(?:\\*|(${COMMAND})))$`);

/** The pattern, or undefined when it is none of the three forms. */
export function parseAllowPattern(text: string): AllowPattern | undefined {
  const match = PATTERN.exec(text);
  if (!match) return undefined;
  const [, pack, command] = match;
  if (pack === undefined) return { kind: 'any' };
  return command === undefined ? { kind: 'pack', pack } : { kind: 'command', pack, command };
}

/** Whether any of `patterns` allows `<pack>.<command>`. */
export function allows(patterns: readonly AllowPattern[], pack: string, command: string): boolean {
  return patterns.some(
    (pattern) =>
      pattern.kind === 'any' ||
      (pattern.pack === pack && (pattern.kind === 'pack' || pattern.command === command)),
  );
}

/** Whether any of `patterns` allows some command of `pack` (which packs a 404 may name to this sender). */
export function allowsPack(patterns: readonly AllowPattern[], pack: string): boolean {
  return patterns.some((pattern) => pattern.kind === 'any' || pattern.pack === pack);
}
