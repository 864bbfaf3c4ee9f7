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
