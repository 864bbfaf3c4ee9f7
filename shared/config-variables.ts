// One definition of each environment variable serves its parser, `--help` and the README's table.
import { type Env, parseInteger } from './config.ts';

/** A variable's default value as the parser uses it: what an unset or blank variable means. */
export type DefaultValue = string | number;

/** One environment variable: what the parser falls back to, and what `--help` and the README say. */
export interface ConfigVariable<T extends DefaultValue | undefined = DefaultValue | undefined> {
  readonly name: string;
  /** What the parser uses when the variable is unset or blank; undefined when it has no value then. */
  readonly defaultValue: T;
  /**
   * The default as shown, in Markdown: `required`, `unset (memory only)`, or the default value in
   * backticks (`` `3000` ``, the form given when the definition names none).
   */
  readonly default: string;
  /** What the variable is for, one short phrase in Markdown. */
  readonly meaning: string;
}

/** A variable as written in a pack's config module; `defineVariables` adds its name. */
export type VariableSpec =
  | { readonly defaultValue: DefaultValue; readonly default?: string; readonly meaning: string }
  | { readonly defaultValue?: undefined; readonly default: string; readonly meaning: string };

export type DefinedVariables<S extends Record<string, VariableSpec>> = {
  readonly [K in keyof S & string]: ConfigVariable<
    S[K] extends { readonly defaultValue: infer V extends DefaultValue } ? V : undefined
  >;
};

/**
 * Names each spec after its key, in the order given (the order of `--help` and of the README):
 * `defineVariables({ SLACK_HTTP_PORT: { defaultValue: 3000, meaning: '...' } })`.
 */
export function defineVariables<const S extends Record<string, VariableSpec>>(specs: S): DefinedVariables<S> {
  const variables: Record<string, ConfigVariable> = {};
  for (const [name, spec] of Object.entries(specs)) {
    const shown = spec.default ?? (spec.defaultValue === undefined ? undefined : `\`${spec.defaultValue}\``);
    if (!shown) throw new Error(`${name}: a variable without a default value must say what its default is`);
    variables[name] = Object.freeze({
      name,
      defaultValue: spec.defaultValue,
      default: shown,
      meaning: spec.meaning,
    });
  }
  return Object.freeze(variables) as DefinedVariables<S>;
}

/** The variable's value, trimmed; its default value when unset or blank. */
export function readText<T extends string | undefined>(env: Env, variable: ConfigVariable<T>): string | T {
  return env[variable.name]?.trim() || variable.defaultValue;
}

/** The variable as a whole number from `min` to `max`, its default value when unset; ConfigError names it. */
export function readInteger(env: Env, variable: ConfigVariable<number>, min: number, max: number): number {
  return parseInteger(variable.name, env[variable.name], variable.defaultValue, min, max);
}

/** The definitions in their order, for `--help` and the README table. */
export function listVariables(
  variables: Readonly<Record<string, ConfigVariable>>,
): readonly ConfigVariable[] {
  return Object.values(variables);
}

/** name -> default value, for the variables that have one: what an empty environment must parse to. */
export function defaultValues(
  variables: Readonly<Record<string, ConfigVariable>>,
): Record<string, DefaultValue> {
  const values: Record<string, DefaultValue> = {};
  for (const variable of listVariables(variables)) {
    if (variable.defaultValue !== undefined) values[variable.name] = variable.defaultValue;
  }
  return values;
}

/** Markdown as a terminal shows it: code spans lose their backticks. */
export function plainText(markdown: string): string {
  return markdown.replace(/`([^`]*)`/g, '$1');
}

export interface HelpLayout {
  /** Text before each line. Default: two spaces. */
  indent?: string;
  /** Lines are wrapped at this width. Default: 110. */
  width?: number;
  /** Defaults longer than this push their meaning to the next line. Default: 28. */
  maxDefaultWidth?: number;
}

/**
 * The variables as aligned columns of plain text (name, default, meaning), for `--help`:
 * `  SLACK_HTTP_PORT   3000   port of the HTTP events endpoint, POST /slack/events`.
 */
export function renderVariablesHelp(variables: readonly ConfigVariable[], layout: HelpLayout = {}): string {
  const { indent = '  ', width = 110, maxDefaultWidth = 28 } = layout;
  const rows = variables.map((variable) => ({
    name: variable.name,
    shown: plainText(variable.default),
    meaning: plainText(variable.meaning),
  }));
  const nameWidth = Math.max(0, ...rows.map((row) => row.name.length));
  const defaultWidth = Math.min(
    maxDefaultWidth,
    Math.max(0, ...rows.map((row) => row.shown.length).filter((length) => length <= maxDefaultWidth)),
  );
  const meaningColumn = indent.length + nameWidth + 2 + defaultWidth + 2;
  const continuation = ' '.repeat(meaningColumn);
  const lines: string[] = [];
  for (const row of rows) {
    const wrapped = wrap(row.meaning, Math.max(30, width - meaningColumn));
    const head = `${indent}${row.name.padEnd(nameWidth)}  ${row.shown.padEnd(defaultWidth)}  `;
    if (row.shown.length > defaultWidth) {
      lines.push(head.trimEnd());
      lines.push(...wrapped.map((line) => continuation + line));
    } else {
      lines.push(head + (wrapped[0] ?? ''), ...wrapped.slice(1).map((line) => continuation + line));
    }
  }
  return lines.join('\n');
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines;
}

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
