import type { ConfigVariable } from '../../shared/config-variables.ts';

// The README's variable tables, read and written for the test that keeps them equal to the definitions.

/** One row of a README variable table. */
export interface VariableRow {
  readonly name: string;
  readonly default: string;
  readonly meaning: string;
  /** Its line in the document, from 1. */
  readonly line: number;
}

const TABLE_HEADER = ['variable', 'default', 'meaning'];

/** The variables as the README writes them: `| variable | default | meaning |`, one row each. */
export function renderVariablesTable(variables: readonly ConfigVariable[]): string {
  const cell = (text: string) => text.replaceAll('|', '\\|');
  return [
    `| ${TABLE_HEADER.join(' | ')} |`,
    '|---|---|---|',
    ...variables.map(
      (variable) => `| \`${variable.name}\` | ${cell(variable.default)} | ${cell(variable.meaning)} |`,
    ),
  ].join('\n');
}

/**
 * The rows of the first `| variable | default | meaning |` table under `heading` (a Markdown heading's
 * text, e.g. `Slack`), before the next heading of the same or a higher level. Throws when there is none,
 * or when a row does not name exactly one variable.
 */
export function readVariablesTable(markdown: string, heading: string): VariableRow[] {
  const lines = markdown.split('\n');
  const start = lines.findIndex((line) => headingOf(line)?.text === heading);
  if (start === -1) throw new Error(`no heading "${heading}"`);
  const level = headingOf(lines[start] ?? '')?.level ?? 1;
  let index = start + 1;
  const endOfSection = (line: string) => {
    const next = headingOf(line);
    return next !== undefined && next.level <= level;
  };
  for (; index < lines.length && !endOfSection(lines[index] ?? ''); index++) {
    const cells = tableCells(lines[index] ?? '');
    if (cells?.join('|') === TABLE_HEADER.join('|')) break;
  }
  if (index >= lines.length || endOfSection(lines[index] ?? '')) {
    throw new Error(`no | ${TABLE_HEADER.join(' | ')} | table under "${heading}"`);
  }
  const rows: VariableRow[] = [];
  for (index += 2; index < lines.length; index++) {
    const cells = tableCells(lines[index] ?? '');
    if (!cells) break;
    const line = index + 1;
    const [nameCell = '', shown = '', meaning = ''] = cells;
    const name = /^`([A-Z][A-Z0-9_]*)`$/.exec(nameCell)?.[1];
    if (!name || cells.length !== 3) {
      throw new Error(`line ${line}: a row names one variable, \`NAME\`, then its default and meaning`);
    }
    rows.push({ name, default: shown, meaning, line });
  }
  return rows;
}

function headingOf(line: string): { level: number; text: string } | undefined {
  const match = /^(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line);
  return match ? { level: match[1]?.length ?? 1, text: match[2] ?? '' } : undefined;
}

/** The cells of a Markdown table row, trimmed, `\|` read as a `|` inside its cell; undefined if not a row. */
function tableCells(line: string): string[] | undefined {
  const row = line.trim();
  if (!row.startsWith('|') || !row.endsWith('|') || row.length < 2) return undefined;
  return row
    .slice(1, -1)
    .split(/(?<!\\)\|/)
    .map((cell) => cell.trim().replace(/\\\|/g, '|'));
}
