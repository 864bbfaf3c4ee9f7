// Runs the integrations' shell script the way Tekton and GitHub Actions would: the step's environment is
// computed from the YAML itself (its params, secretKeyRefs and expressions), so a test that passes proves
// the wiring of the YAML as well as the script.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';

export const INTEGRATIONS = resolve(import.meta.dirname, '../../integrations');
export const SCRIPT_PATH = join(INTEGRATIONS, 'send-to-switchboard.sh');
export const TASK_PATH = join(INTEGRATIONS, 'tekton/send-to-switchboard.yaml');
export const ACTION_PATH = join(INTEGRATIONS, 'github-actions/action.yml');

export type Yaml = Record<string, unknown>;

export function readYaml(path: string): Yaml {
  return parse(readFileSync(path, 'utf8')) as Yaml;
}

export interface ScriptRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `script` with `sh` (as both runners do: Tekton a file starting with #!/bin/sh, GitHub `sh -e {0}`)
 * in an environment holding only `env` and PATH, so nothing of the test process leaks in.
 */
export async function runShell(script: string, env: Record<string, string>, args: string[] = []) {
  const directory = mkdtempSync(join(tmpdir(), 'send-to-switchboard-'));
  const file = join(directory, 'script.sh');
  writeFileSync(file, script);
  try {
    return await new Promise<ScriptRun>((resolveRun, reject) => {
      const child = spawn('sh', [...args, file], {
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        stdout += chunk;
      });
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
        stderr += chunk;
      });
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.once('error', reject);
      child.once('close', (code) => {
        clearTimeout(timer);
        resolveRun({ code, stdout, stderr });
      });
    });
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

interface TektonParam {
  name: string;
  default?: string;
}
interface TektonEnv {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string } };
}
interface TektonStep {
  script: string;
  env: TektonEnv[];
}

/** What a TaskRun gives the Task: its params, the Secrets in its namespace, and its uid. */
export interface TaskRunInput {
  params: Record<string, string>;
  secrets: Record<string, Record<string, string>>;
  uid: string;
}

/** Tekton's substitution of $(params.x) and $(context.taskRun.uid); an unknown reference throws. */
function substituteTekton(text: string, task: { params: TektonParam[] }, run: TaskRunInput): string {
  return text.replace(/\$\((params|context)\.([A-Za-z0-9_.-]+)\)/g, (reference, scope, name) => {
    if (scope === 'context') {
      if (name === 'taskRun.uid') return run.uid;
      throw new Error(`the test runner does not know ${reference}`);
    }
    const declared = task.params.find((param) => param.name === name);
    if (!declared) throw new Error(`${reference} is not a declared param`);
    const value = run.params[name] ?? declared.default;
    if (value === undefined) throw new Error(`the TaskRun gives no value for the param ${name}`);
    return value;
  });
}

/** Runs the Task's one step as a TaskRun would, with its env resolved from params and Secrets. */
export function runTektonTask(run: TaskRunInput): Promise<ScriptRun> {
  const task = readYaml(TASK_PATH) as { spec: { params: TektonParam[]; steps: TektonStep[] } };
  const [step] = task.spec.steps;
  if (!step || task.spec.steps.length !== 1) throw new Error('the Task should have one step');
  const env: Record<string, string> = {};
  for (const variable of step.env) {
    const secretRef = variable.valueFrom?.secretKeyRef;
    if (secretRef) {
      const secretName = substituteTekton(secretRef.name, task.spec, run);
      const key = substituteTekton(secretRef.key, task.spec, run);
      const value = run.secrets[secretName]?.[key];
      // Kubernetes would not start the pod.
      if (value === undefined) throw new Error(`no Secret ${secretName} with key ${key}`);
      env[variable.name] = value;
    } else {
      env[variable.name] = substituteTekton(variable.value ?? '', task.spec, run);
    }
  }
  return runShell(substituteTekton(step.script, task.spec, run), env);
}

interface ActionStep {
  shell: string;
  env: Record<string, string>;
  run: string;
}
interface ActionInput {
  default?: string;
}

/** The `github` context fields the action reads. */
export interface GithubContext {
  run_id: string;
  run_attempt: string;
  job: string;
}

/**
 * Evaluates the few expression forms the action uses: `inputs.x`, `github.x`, a string literal,
 * `format('...', a, b)` and `a || b`. Anything else throws, so a new form in action.yml needs a look here.
 */
function evaluate(expression: string, inputs: Record<string, string>, github: GithubContext): string {
  const text = expression.trim();
  const alternatives = splitTopLevel(text, '||');
  if (alternatives.length > 1) {
    for (const alternative of alternatives) {
      const value = evaluate(alternative, inputs, github);
      if (value !== '') return value;
    }
    return '';
  }
  let match = /^inputs\.([A-Za-z0-9_-]+)$/.exec(text);
  if (match) {
    const name = match[1] as string;
    if (!(name in inputs)) throw new Error(`inputs.${name} is not an input of the action`);
    return inputs[name] as string;
  }
  match = /^github\.([a-z_]+)$/.exec(text);
  if (match) {
    const value = github[match[1] as keyof GithubContext];
    if (value === undefined) throw new Error(`the test runner has no github.${match[1]}`);
    return value;
  }
  match = /^'((?:[^']|'')*)'$/.exec(text);
  if (match) return (match[1] as string).replaceAll("''", "'");
  match = /^format\((.*)\)$/s.exec(text);
  if (match) {
    const [template = '', ...args] = splitTopLevel(match[1] as string, ',').map((part) =>
      evaluate(part, inputs, github),
    );
    return template.replace(/\{(\d+)\}/g, (_, index) => args[Number(index)] ?? '');
  }
  throw new Error(`the test runner cannot evaluate \${{ ${text} }}`);
}

/** Splits on `separator` outside quotes and parentheses. */
function splitTopLevel(text: string, separator: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "'") quoted = !quoted;
    else if (!quoted && c === '(') depth++;
    else if (!quoted && c === ')') depth--;
    else if (!quoted && depth === 0 && text.startsWith(separator, i)) {
      parts.push(text.slice(start, i));
      start = i + separator.length;
      i += separator.length - 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

function interpolate(text: string, inputs: Record<string, string>, github: GithubContext): string {
  return text.replace(/\$\{\{(.*?)\}\}/gs, (_, expression: string) => evaluate(expression, inputs, github));
}

/** Runs the composite action's step as the runner would: inputs with their defaults, env evaluated, `sh -e`. */
export function runGithubAction(given: Record<string, string>, github: GithubContext): Promise<ScriptRun> {
  const action = readYaml(ACTION_PATH) as {
    inputs: Record<string, ActionInput>;
    runs: { steps: ActionStep[] };
  };
  for (const name of Object.keys(given)) {
    if (!(name in action.inputs)) throw new Error(`the action has no input ${name}`);
  }
  const inputs = Object.fromEntries(
    Object.entries(action.inputs).map(([name, input]) => [name, given[name] ?? input.default ?? '']),
  );
  const [step] = action.runs.steps;
  if (!step || action.runs.steps.length !== 1) throw new Error('the action should have one step');
  if (step.shell !== 'sh') throw new Error(`the step's shell is ${step.shell}, not sh`);
  const env = Object.fromEntries(
    Object.entries(step.env).map(([name, value]) => [name, interpolate(String(value), inputs, github)]),
  );
  env.GITHUB_ACTION_PATH = join(INTEGRATIONS, 'github-actions');
  return runShell(interpolate(step.run, inputs, github), env, ['-e']);
}
