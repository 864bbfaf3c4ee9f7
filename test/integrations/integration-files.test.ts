// The shape of what integrations/ ships: every YAML parses, the Tekton Task and Pipeline, the config-events
// ConfigMap, the GitHub Action and its example workflow, and the Alertmanager receiver are what Tekton,
// GitHub and Alertmanager expect, and every parameter or input declared is used (and the reverse).
import assert from 'node:assert/strict';
import { existsSync, globSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { ACTION_PATH, INTEGRATIONS, readYaml, SCRIPT_PATH, TASK_PATH, type Yaml } from './support.ts';

const PIPELINE_PATH = join(INTEGRATIONS, 'tekton/example-pipeline.yaml');
const CONFIG_EVENTS_PATH = join(INTEGRATIONS, 'tekton/config-events.yaml');
const WORKFLOW_PATH = join(INTEGRATIONS, 'github-actions/examples/announce-build.yml');
const ALERTMANAGER_PATH = join(INTEGRATIONS, 'alertmanager/alertmanager.yml');

/** Every string in a YAML tree, keys excluded. */
function strings(node: unknown): string[] {
  if (typeof node === 'string') return [node];
  if (Array.isArray(node)) return node.flatMap(strings);
  if (node && typeof node === 'object') return Object.values(node).flatMap(strings);
  return [];
}

/** The names in `$(params.x)` and `$(params["x"])` anywhere in `node`. */
function tektonParamsUsed(node: unknown): Set<string> {
  const used = new Set<string>();
  for (const text of strings(node)) {
    for (const match of text.matchAll(/\$\(params(?:\.([A-Za-z0-9_-]+)|\[["']([^"']+)["']\])\)/g)) {
      used.add((match[1] ?? match[2]) as string);
    }
  }
  return used;
}

/** The names in `${{ inputs.x }}` expressions (also inside longer expressions) anywhere in `node`. */
function actionInputsUsed(node: unknown): Set<string> {
  const used = new Set<string>();
  for (const text of strings(node)) {
    for (const expression of text.matchAll(/\$\{\{(.*?)\}\}/gs)) {
      for (const match of (expression[1] as string).matchAll(/\binputs\.([A-Za-z0-9_-]+)/g)) {
        used.add(match[1] as string);
      }
    }
  }
  return used;
}

const sorted = (names: Iterable<string>) => [...names].sort();

test('every YAML file under integrations/ parses without errors or warnings', () => {
  const files = globSync('**/*.{yml,yaml}', { cwd: INTEGRATIONS });
  assert.ok(files.length >= 6, `found only ${files.join(', ')}`);
  for (const file of files) {
    for (const document of parseAllDocuments(readFileSync(join(INTEGRATIONS, file), 'utf8'))) {
      const problems = [...document.errors, ...document.warnings].map((problem) => problem.message);
      assert.deepEqual(problems, [], file);
    }
  }
});

describe('the Tekton Task send-to-switchboard', () => {
  const task = readYaml(TASK_PATH) as {
    apiVersion: string;
    kind: string;
    metadata: { name: string };
    spec: {
      params: Array<{ name: string; type?: string; default?: string }>;
      steps: Array<{ image: string; script: string; env: Array<Yaml & { name: string }> }>;
    };
  };
  const step = task.spec.steps[0];

  test('is a tekton.dev/v1 Task named send-to-switchboard with the params the issue names', () => {
    assert.equal(task.apiVersion, 'tekton.dev/v1');
    assert.equal(task.kind, 'Task');
    assert.equal(task.metadata.name, 'send-to-switchboard');
    const declared = task.spec.params.map((param) => param.name);
    for (const name of ['endpoint', 'pack', 'command', 'input', 'message', 'channel', 'wait']) {
      assert.ok(declared.includes(name), `no param ${name}`);
    }
    for (const param of task.spec.params) assert.equal(param.type ?? 'string', 'string', param.name);
  });

  test('uses every param it declares, and declares every param it uses', () => {
    const declared = task.spec.params.map((param) => param.name);
    assert.deepEqual(sorted(tektonParamsUsed(task.spec)), sorted(declared));
  });

  test('its step runs integrations/send-to-switchboard.sh word for word', () => {
    assert.equal(task.spec.steps.length, 1);
    assert.equal(
      step?.script,
      readFileSync(SCRIPT_PATH, 'utf8'),
      'copy the script into the Task: sed "s/^/        /" integrations/send-to-switchboard.sh (blank lines stay empty)',
    );
  });

  test('no param is pasted into the script: each reaches it as an environment variable', () => {
    assert.doesNotMatch(step?.script ?? '', /\$\((params|context|workspaces|results|steps|tasks)[.[]/);
    for (const variable of step?.env ?? []) {
      if (typeof variable.value === 'string' && tektonParamsUsed(variable).size > 0) {
        assert.match(variable.value, /^\$\(params\.[a-z-]+\)$/, `${variable.name} is one param, as it is`);
      }
    }
  });

  test('the token comes from a Secret, never a param; the Idempotency-Key from the TaskRun uid', () => {
    const token = step?.env.find((variable) => variable.name === 'SWITCHBOARD_TOKEN');
    assert.ok(
      token?.valueFrom && 'secretKeyRef' in (token.valueFrom as Yaml),
      'SWITCHBOARD_TOKEN from a Secret',
    );
    assert.equal(token?.value, undefined);
    for (const param of task.spec.params) assert.doesNotMatch(param.name, /^(api-)?token$/);
    const key = step?.env.find((variable) => variable.name === 'SWITCHBOARD_IDEMPOTENCY_KEY');
    assert.match(String(key?.value), /\$\(context\.taskRun\.uid\)/);
  });

  test('its default image is pinned to a version', () => {
    const image = task.spec.params.find((param) => param.name === 'image')?.default ?? step?.image ?? '';
    assert.match(image, /^docker\.io\/[\w./-]+:\d+\.\d+\.\d+$/);
  });
});

describe('the example Pipeline', () => {
  const pipeline = readYaml(PIPELINE_PATH) as {
    apiVersion: string;
    kind: string;
    spec: {
      params: Array<{ name: string }>;
      tasks: Array<Yaml & { name: string }>;
      finally?: Array<Yaml & { name: string }>;
    };
  };
  const task = readYaml(TASK_PATH) as { spec: { params: Array<{ name: string; default?: string }> } };
  const pipelineTasks = [...pipeline.spec.tasks, ...(pipeline.spec.finally ?? [])];

  test('is a tekton.dev/v1 Pipeline using every param it declares and declaring every one it uses', () => {
    assert.equal(pipeline.apiVersion, 'tekton.dev/v1');
    assert.equal(pipeline.kind, 'Pipeline');
    // The tasks' own taskSpec params are theirs, not the Pipeline's.
    const references = pipelineTasks.map(({ taskSpec: _, ...rest }) => rest);
    assert.deepEqual(
      sorted(tektonParamsUsed(references)),
      sorted(pipeline.spec.params.map((param) => param.name)),
    );
  });

  test('runs send-to-switchboard with params the Task declares, every required one given', () => {
    const sends = pipelineTasks.filter(
      (entry) => (entry.taskRef as { name?: string } | undefined)?.name === 'send-to-switchboard',
    );
    assert.ok(sends.length >= 1);
    const declared = task.spec.params.map((param) => param.name);
    const required = task.spec.params
      .filter((param) => param.default === undefined)
      .map((param) => param.name);
    for (const send of sends) {
      const given = (send.params as Array<{ name: string }>).map((param) => param.name);
      for (const name of given)
        assert.ok(declared.includes(name), `${send.name}: the Task has no param ${name}`);
      for (const name of required) assert.ok(given.includes(name), `${send.name}: ${name} is required`);
      assert.ok(given.includes('message') !== given.includes('input'), 'a message or an input');
    }
  });

  test('refers only to pipeline tasks it has', () => {
    const names = pipelineTasks.map((entry) => entry.name);
    for (const text of strings(pipeline.spec)) {
      for (const match of text.matchAll(/\$\(tasks\.([a-z0-9-]+)\./g)) {
        assert.ok(names.includes(match[1] as string), `no pipeline task ${match[1]}`);
      }
    }
  });
});

test("the config-events ConfigMap points Tekton's CloudEvents at /webhooks/cloudevents with an access_token", () => {
  const configMap = readYaml(CONFIG_EVENTS_PATH) as {
    apiVersion: string;
    kind: string;
    metadata: { name: string; namespace: string };
    data: Record<string, string>;
  };
  assert.equal(configMap.apiVersion, 'v1');
  assert.equal(configMap.kind, 'ConfigMap');
  assert.deepEqual(configMap.metadata.name, 'config-events');
  assert.deepEqual(configMap.metadata.namespace, 'tekton-pipelines');
  // The keys Tekton's config-events reads (docs/events.md): anything else would be ignored silently.
  assert.deepEqual(sorted(Object.keys(configMap.data)), ['formats', 'sink']);
  assert.equal(configMap.data.formats, 'tektonv1');
  const sink = new URL(configMap.data.sink as string);
  assert.equal(sink.pathname, '/webhooks/cloudevents');
  assert.ok(sink.searchParams.get('access_token'), 'the token goes as ?access_token=');
});

describe('the GitHub composite action', () => {
  const action = readYaml(ACTION_PATH) as {
    name: string;
    description: string;
    inputs: Record<string, { description: string; required?: boolean; default?: string }>;
    runs: { using: string; steps: Array<{ shell: string; run: string; env: Record<string, string> }> };
  };

  test('is a composite action with the inputs the issue names', () => {
    assert.ok(action.name && action.description);
    assert.equal(action.runs.using, 'composite');
    for (const name of ['endpoint', 'token', 'pack', 'channel', 'message', 'rich', 'wait']) {
      assert.ok(action.inputs[name]?.description, `no input ${name}`);
    }
    for (const name of ['endpoint', 'token', 'pack']) assert.equal(action.inputs[name]?.required, true, name);
  });

  test('uses every input it declares, and declares every input it uses', () => {
    assert.deepEqual(sorted(actionInputsUsed(action.runs)), sorted(Object.keys(action.inputs)));
  });

  test('no expression is pasted into the shell: inputs reach the script as environment variables', () => {
    for (const step of action.runs.steps) {
      assert.equal(step.shell, 'sh');
      assert.doesNotMatch(step.run, /\$\{\{/);
    }
  });

  test('runs the shared script, which exists at the path it names', () => {
    const [step] = action.runs.steps;
    const match = /"\$GITHUB_ACTION_PATH\/([^"]+)"/.exec(step?.run ?? '');
    assert.ok(match, step?.run);
    const script = resolve(INTEGRATIONS, 'github-actions', match[1] as string);
    assert.equal(relative(INTEGRATIONS, script), 'send-to-switchboard.sh');
    assert.ok(existsSync(script));
  });
});

test('the example workflow calls the action with inputs it declares, the token from a secret', () => {
  const workflow = readYaml(WORKFLOW_PATH) as {
    on: unknown;
    jobs: Record<
      string,
      { 'runs-on': string; steps: Array<{ uses?: string; with?: Record<string, string> }> }
    >;
  };
  const action = readYaml(ACTION_PATH) as { inputs: Record<string, { required?: boolean }> };
  assert.ok(workflow.on);
  const uses = Object.values(workflow.jobs).flatMap((job) =>
    job.steps.filter((step) => step.uses?.replace(/@.*$/, '').endsWith('integrations/github-actions')),
  );
  assert.ok(uses.length >= 2, 'a message and a rich message');
  for (const step of uses) {
    const given = Object.keys(step.with ?? {});
    for (const name of given) assert.ok(name in action.inputs, `the action has no input ${name}`);
    for (const [name, input] of Object.entries(action.inputs)) {
      if (input.required) assert.ok(given.includes(name), `${name} is required`);
    }
    assert.match(step.with?.token ?? '', /^\$\{\{\s*secrets\.[A-Z_]+\s*\}\}$/);
    assert.ok(Boolean(step.with?.message) !== Boolean(step.with?.rich), 'a message or rich JSON');
  }
});

test('the Alertmanager example routes to a receiver posting to /webhooks/alertmanager with a bearer token', () => {
  const config = readYaml(ALERTMANAGER_PATH) as {
    route: { receiver: string };
    receivers: Array<{
      name: string;
      webhook_configs?: Array<{
        url: string;
        send_resolved?: boolean;
        http_config?: { authorization?: { type?: string; credentials?: string; credentials_file?: string } };
      }>;
    }>;
  };
  const receiver = config.receivers.find((candidate) => candidate.name === config.route.receiver);
  assert.ok(receiver, `the route's receiver ${config.route.receiver} is defined`);
  const [webhook] = receiver.webhook_configs ?? [];
  assert.ok(webhook);
  assert.equal(new URL(webhook.url).pathname, '/webhooks/alertmanager');
  assert.equal(webhook.send_resolved, true);
  const authorization = webhook.http_config?.authorization;
  assert.equal(authorization?.type ?? 'Bearer', 'Bearer');
  assert.ok(authorization?.credentials || authorization?.credentials_file, 'a token or a token file');
});
