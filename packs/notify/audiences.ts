import { extname } from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import { LineCounter, parseDocument } from 'yaml';
import audiencesSchema from '../../docs/audiences.schema.json' with { type: 'json' };

/** One thing wrong with an audiences file; the same shape as a flow problem (engine/flows/parse-flow.ts). */
export interface AudienceProblem {
  /** The file as named by the caller. */
  file: string;
  /** JSON pointer into the document (`/#oncall/include/0`); '' for the whole file, e.g. a syntax error. */
  path: string;
  reason: string;
}

/** One place a notification goes: a channel reference, in the form its pack understands. */
export interface AudienceTarget {
  /** The pack, in lower case (`slack`, `matrix`, `mattermost`). */
  pack: string;
  /** The channel reference as written in the mapping (`#alerts`, `!room:server`, `team/ops`). */
  channel: string;
}

export interface AudienceResolution {
  /** Every distinct target of the groups asked for; see Audiences.resolve for the order. */
  targets: AudienceTarget[];
  /** The names asked for that are not groups of the mapping, as given, each once. */
  unknown: string[];
}

/** One group as parsed: its own targets and the groups it includes, each in the order written. */
export interface AudienceGroup {
  readonly targets: readonly AudienceTarget[];
  readonly include: readonly string[];
}

export type ParseAudiencesResult =
  | { ok: true; audiences: Audiences }
  | { ok: false; problems: AudienceProblem[] };

/**
 * The audiences mapping in force: named groups (`#admins`) and the pack channels they reach.
 * Immutable: a reload builds a new one. Build it with parseAudiences, which rejects unknown
 * includes and include cycles; resolve() stays finite even on a cyclic mapping built by hand.
 */
export class Audiences {
  readonly #groups: ReadonlyMap<string, AudienceGroup>;

  /** `groups` in the order written; an empty mapping when omitted. */
  constructor(groups: ReadonlyMap<string, AudienceGroup> = new Map()) {
    this.#groups = groups;
  }

  /** Group names (with their `#`) in the order written. */
  groups(): string[] {
    return [...this.#groups.keys()];
  }

  /**
   * The distinct targets of one group or a list of groups. A name may be given with or without
   * its `#` (`admins` is `#admins`); surrounding whitespace is ignored; names are case-sensitive.
   *
   * Order (stable for a given mapping): the groups in the order given; within a group, its own
   * targets in the order written (pack by pack, channel by channel), then the groups it includes,
   * depth first, in include order. A target reached again (through another group or include) keeps
   * its first place, and a group is expanded once per call.
   */
  resolve(to: string | readonly string[]): AudienceResolution {
    const targets: AudienceTarget[] = [];
    const unknown: string[] = [];
    const seenTargets = new Set<string>();
    const expanded = new Set<string>();
    const expand = (name: string): void => {
      const group = this.#groups.get(name);
      if (group === undefined || expanded.has(name)) return;
      expanded.add(name);
      for (const { pack, channel } of group.targets) {
        // The NUL separator cannot occur in a pack name, so distinct pairs give distinct keys.
        const key = `${pack}\u0000${channel}`;
        if (seenTargets.has(key)) continue;
        seenTargets.add(key);
        targets.push({ pack, channel });
      }
      for (const included of group.include) expand(included);
    };
    for (const given of typeof to === 'string' ? [to] : to) {
      const name = groupName(given);
      if (this.#groups.has(name)) expand(name);
      else if (!unknown.includes(given)) unknown.push(given);
    }
    return { targets, unknown };
  }
}

/** `admins` and `#admins` both name the group `#admins`. */
function groupName(given: string): string {
  const name = given.trim();
  return name.startsWith('#') ? name : `#${name}`;
}

const ajv = new Ajv({ allErrors: true, verbose: true });
const validateDocument = ajv.compile<Record<string, unknown>>(audiencesSchema);

type Format = 'json' | 'yaml';
type Located = Omit<AudienceProblem, 'file'>;
type Decoded = { ok: true; value: unknown } | { ok: false; problems: Located[] };

/**
 * Reads an audiences document: JSON for `.json`, YAML for `.yaml`/`.yml` (an empty YAML document
 * is an empty mapping), checked against docs/audiences.schema.json, then for includes that name
 * no group of the document and for include cycles. Pack names are taken in lower case.
 */
export function parseAudiences(text: string, file: string): ParseAudiencesResult {
  const failed = (problems: Located[]): ParseAudiencesResult => ({
    ok: false,
    problems: problems.map((problem) => ({ file, ...problem })),
  });
  const format = formatOf(file);
  if (format === undefined) {
    return failed([
      { path: '', reason: `unsupported file type '${extname(file)}': use .json, .yaml or .yml` },
    ]);
  }
  // Editors on Windows may save a byte order mark, which JSON.parse refuses.
  const source = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const decoded = format === 'json' ? decodeJson(source) : decodeYaml(source);
  if (!decoded.ok) return failed(decoded.problems);
  if (!validateDocument(decoded.value)) {
    return failed((validateDocument.errors ?? []).map((error) => schemaProblem(error, format)));
  }
  const groups = toGroups(decoded.value);
  const problems = [...unknownIncludes(groups), ...includeCycles(groups)];
  if (problems.length > 0) return failed(problems);
  return { ok: true, audiences: new Audiences(groups) };
}

function formatOf(file: string): Format | undefined {
  const extension = extname(file).toLowerCase();
  if (extension === '.json') return 'json';
  if (extension === '.yaml' || extension === '.yml') return 'yaml';
  return undefined;
}

function decodeJson(text: string): Decoded {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    // V8 says "... in JSON at position 8 (line 1 column 9)" for most errors; keep the line and column.
    const message = (error as Error).message;
    const where = /\(line (\d+) column (\d+)\)/.exec(message);
    const what = message
      .replace(/ in JSON at position \d+.*$/s, '')
      .replace(/, (?:\.\.\.)?".*" is not valid JSON$/s, '');
    const at = where ? ` at line ${where[1]}, column ${where[2]}` : '';
    return { ok: false, problems: [{ path: '', reason: `JSON syntax error${at}: ${what}` }] };
  }
}

function decodeYaml(text: string): Decoded {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false });
  if (document.errors.length > 0) {
    const problems = document.errors.map((error) => {
      const { line, col } = lineCounter.linePos(error.pos[0]);
      return { path: '', reason: `YAML syntax error at line ${line}, column ${col}: ${error.message}` };
    });
    return { ok: false, problems };
  }
  // A document of nothing but comments is a mapping with no groups yet.
  return { ok: true, value: document.toJS() ?? {} };
}

const YAML_COMMENT_HINT =
  "in YAML, quote values that start with '#' (\"#admins\"): an unquoted '#' starts a comment";

/** ajv's error in words that name what to fix; the path points at the offending key itself. */
function schemaProblem(error: ErrorObject, format: Format): Located {
  const depth = error.instancePath.split('/').length - 1;
  if (error.keyword === 'additionalProperties') {
    const key = String(error.params.additionalProperty);
    const path = `${error.instancePath}/${escapePointer(key)}`;
    if (depth === 0) {
      const hint = format === 'yaml' && !key.startsWith('#') ? ` (${YAML_COMMENT_HINT})` : '';
      return {
        path,
        reason: `'${key}' is not a group name: a group name starts with '#' and has no whitespace${hint}`,
      };
    }
    if (key.toLowerCase() === 'include') return { path, reason: `write 'include' in lower case` };
    return {
      path,
      reason: `'${key}' is not a pack name: use letters, digits and '-', starting with a letter`,
    };
  }
  if (error.keyword === 'pattern' && depth === 3) {
    return {
      path: error.instancePath,
      reason: `'${String(error.data)}' is not a group name: a group name starts with '#' and has no whitespace`,
    };
  }
  if (error.keyword === 'uniqueItems') {
    // ajv names the later copy `i` and the earlier one `j`; point at the later one.
    const { i, j } = error.params as { i: number; j: number };
    const listed = (error.data as unknown[])[i];
    return {
      path: `${error.instancePath}/${i}`,
      reason: `'${String(listed)}' is already listed at index ${j}`,
    };
  }
  if (error.keyword === 'minLength') return { path: error.instancePath, reason: 'must not be empty' };
  let reason = error.message ?? `fails the schema's '${error.keyword}' rule`;
  if (error.keyword === 'type' && error.data === null && format === 'yaml')
    reason += ` (${YAML_COMMENT_HINT})`;
  return { path: error.instancePath, reason };
}

/** Builds the groups of a document that passed the schema, in the order written. */
function toGroups(document: Record<string, unknown>): Map<string, AudienceGroup> {
  const groups = new Map<string, AudienceGroup>();
  for (const [name, value] of Object.entries(document)) {
    if (name === '$schema') continue;
    const targets: AudienceTarget[] = [];
    let include: string[] = [];
    for (const [key, list] of Object.entries(value as Record<string, string[]>)) {
      if (key === 'include') include = list;
      else for (const channel of list) targets.push({ pack: key.toLowerCase(), channel });
    }
    groups.set(name, { targets, include });
  }
  return groups;
}

function unknownIncludes(groups: ReadonlyMap<string, AudienceGroup>): Located[] {
  const problems: Located[] = [];
  for (const [name, group] of groups) {
    group.include.forEach((included, index) => {
      if (groups.has(included)) return;
      problems.push({
        path: `/${escapePointer(name)}/include/${index}`,
        reason: `${name} includes ${included}, which is not a group of this file`,
      });
    });
  }
  return problems;
}

/**
 * Every include that closes a cycle, found by a depth-first walk in the order written; the
 * problem points at that include and spells the cycle (`#a -> #b -> #a`).
 */
function includeCycles(groups: ReadonlyMap<string, AudienceGroup>): Located[] {
  const problems: Located[] = [];
  const done = new Set<string>();
  const path: string[] = [];
  const walk = (name: string): void => {
    path.push(name);
    groups.get(name)?.include.forEach((included, index) => {
      const start = path.indexOf(included);
      if (start >= 0) {
        const cycle = [...path.slice(start), included].join(' -> ');
        problems.push({
          path: `/${escapePointer(name)}/include/${index}`,
          reason: `include cycle: ${cycle}`,
        });
      } else if (groups.has(included) && !done.has(included)) {
        walk(included);
      }
    });
    path.pop();
    done.add(name);
  };
  for (const name of groups.keys()) if (!done.has(name)) walk(name);
  return problems;
}

/** RFC 6901: `~` and `/` in a key are written `~0` and `~1`. */
function escapePointer(key: string): string {
  return key.replaceAll('~', '~0').replaceAll('/', '~1');
}
