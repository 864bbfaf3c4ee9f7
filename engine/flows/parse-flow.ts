import { extname } from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import { LineCounter, parseDocument } from 'yaml';
import flowSchema from '../../docs/flow.schema.json' with { type: 'json' };
import type { Flow } from '../flow.ts';

/** One thing wrong with a flow file. */
export interface FlowProblem {
  /** The file as named by the caller (FlowDirectory: relative to its directory). */
  file: string;
  /** JSON pointer into the document (`/steps/0/event`); '' for the whole file, e.g. a syntax error. */
  path: string;
  reason: string;
}

/** A problem as `switchboard flows check` prints it and the console shows it: `file:path: reason`. */
export function formatProblem(problem: FlowProblem): string {
  return `${problem.file}:${problem.path || '/'}: ${problem.reason}`;
}

export type ParseFlowResult = { flow: Flow; problems: [] } | { flow: undefined; problems: FlowProblem[] };

const ajv = new Ajv({ allErrors: true });
const validateFlow = ajv.compile<Flow>(flowSchema);

/**
 * Reads one flow file: JSON for `.json`, YAML for `.yaml`/`.yml`, checked against
 * docs/flow.schema.json and then for step ids that `dependsOn` cannot resolve.
 */
export function parseFlow(file: string, text: string): ParseFlowResult {
  // Editors on Windows may save a byte order mark, which JSON.parse refuses.
  const source = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const format = formatOf(file);
  if (format === undefined) {
    return failed(file, [
      { path: '', reason: `unsupported file type '${extname(file)}': use .json, .yaml or .yml` },
    ]);
  }
  const decoded = format === 'json' ? decodeJson(source) : decodeYaml(source);
  if (!decoded.ok) return failed(file, decoded.problems);
  if (!validateFlow(decoded.value)) return failed(file, (validateFlow.errors ?? []).map(schemaProblem));
  const problems = stepProblems(decoded.value);
  if (problems.length > 0) return failed(file, problems);
  return { flow: decoded.value, problems: [] };
}

type Located = Omit<FlowProblem, 'file'>;
type Decoded = { ok: true; value: unknown } | { ok: false; problems: Located[] };

function formatOf(file: string): 'json' | 'yaml' | undefined {
  const extension = extname(file).toLowerCase();
  if (extension === '.json') return 'json';
  if (extension === '.yaml' || extension === '.yml') return 'yaml';
  return undefined;
}

function failed(file: string, problems: Located[]): ParseFlowResult {
  return { flow: undefined, problems: problems.map((problem) => ({ file, ...problem })) };
}

function decodeJson(text: string): Decoded {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    const message = (error as Error).message;
    // V8 gives the position for most syntax errors but not for "Unexpected token ..." or
    // "Unexpected end of JSON input"; find those ourselves.
    const given = /at position (\d+)/.exec(message)?.[1];
    const offset = given === undefined ? jsonErrorOffset(text) : Number(given);
    const what = message
      .replace(/ in JSON at position \d+.*$/s, '')
      .replace(/, (?:\.\.\.)?".*" is not valid JSON$/s, '');
    const { line, col } = lineAndColumn(text, offset);
    return {
      ok: false,
      problems: [{ path: '', reason: `JSON syntax error at line ${line}, column ${col}: ${what}` }],
    };
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
  return { ok: true, value: document.toJS() };
}

function schemaProblem(error: ErrorObject): Located {
  let reason = error.message ?? `fails the schema's '${error.keyword}' rule`;
  // ajv's message does not say which property is unwanted.
  if (error.keyword === 'additionalProperties') reason += ` ('${error.params.additionalProperty}')`;
  return { path: error.instancePath, reason };
}

function stepProblems(flow: Flow): Located[] {
  const problems: Located[] = [];
  const firstUse = new Map<string, number>();
  flow.steps.forEach((step, index) => {
    if (step.id === undefined) return;
    const first = firstUse.get(step.id);
    if (first === undefined) firstUse.set(step.id, index);
    else
      problems.push({
        path: `/steps/${index}/id`,
        reason: `duplicate step id '${step.id}' (also /steps/${first})`,
      });
  });
  flow.steps.forEach((step, index) => {
    step.dependsOn?.forEach((id, position) => {
      const path = `/steps/${index}/dependsOn/${position}`;
      if (id === step.id) problems.push({ path, reason: `step '${id}' depends on itself` });
      else if (!firstUse.has(id)) problems.push({ path, reason: `no step in this flow has the id '${id}'` });
    });
  });
  return problems;
}

function lineAndColumn(text: string, offset: number): { line: number; col: number } {
  const before = text.slice(0, offset);
  const lineStart = before.lastIndexOf('\n') + 1;
  return { line: before.split('\n').length, col: offset - lineStart + 1 };
}

/** Offset of the first JSON syntax error in `text`; only called once JSON.parse has failed. */
function jsonErrorOffset(text: string): number {
  let i = 0;
  function fail(): never {
    throw new JsonSyntaxError(i);
  }
  function skipSpace(): void {
    while (i < text.length && ' \t\n\r'.includes(text.charAt(i))) i++;
  }
  function expect(literal: string): void {
    for (const char of literal) {
      if (text.charAt(i) !== char) fail();
      i++;
    }
  }
  function value(): void {
    skipSpace();
    const char = text.charAt(i);
    if (char === '{') container('}', member);
    else if (char === '[') container(']', value);
    else if (char === '"') string();
    else if (char === 't') expect('true');
    else if (char === 'f') expect('false');
    else if (char === 'n') expect('null');
    else number();
  }
  function container(close: string, item: () => void): void {
    i++;
    skipSpace();
    while (text.charAt(i) !== close) {
      item();
      skipSpace();
      if (text.charAt(i) !== close) expect(',');
    }
    i++;
  }
  function member(): void {
    skipSpace();
    if (text.charAt(i) !== '"') fail();
    string();
    skipSpace();
    expect(':');
    value();
  }
  function string(): void {
    i++; // the opening quote
    while (text.charAt(i) !== '"') {
      if (i >= text.length || text.charCodeAt(i) < 0x20) fail();
      if (text.charAt(i) === '\\') {
        i++;
        if (text.charAt(i) === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) fail();
          i += 4;
        } else if (i >= text.length || !'"\\/bfnrt'.includes(text.charAt(i))) fail();
      }
      i++;
    }
    i++;
  }
  function number(): void {
    const match = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(text.slice(i));
    if (match === null) fail();
    i += match[0].length;
  }
  try {
    value();
    skipSpace();
    return i;
  } catch (error) {
    // A RangeError from absurdly deep nesting leaves us without a position: point at the start.
    return error instanceof JsonSyntaxError ? error.offset : 0;
  }
}

class JsonSyntaxError extends Error {
  readonly offset: number;
  constructor(offset: number) {
    super(`JSON syntax error at offset ${offset}`);
    this.offset = offset;
  }
}
