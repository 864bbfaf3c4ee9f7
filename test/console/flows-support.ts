// A console with a real flow engine behind it, on the in-memory bus: the Flows and Try tests read and
// dry-run the flows of a directory of their own, and see the engine's executions.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConsoleConfig } from '../../console/console-config.ts';
import { type RunningConsole, startConsole } from '../../console/console-server.ts';
import type { FlowEngine } from '../../engine/engine.ts';
import { checkFlowTemplates } from '../../engine/flow-templates.ts';
import { FlowDirectory } from '../../engine/flows/flow-directory.ts';
import { EngineStore } from '../../engine/state/engine-store.ts';
import { TemplateEngine } from '../../engine/templates/template-engine.ts';
import { MemoryBus } from '../../shared/bus/memory-bus.ts';
import { testLogger } from '../support/bus.ts';
import { createTestEngine } from '../support/engine.ts';
import { eventually } from '../support/eventually.ts';

export interface FlowsConsole {
  readonly bus: MemoryBus;
  readonly console: RunningConsole;
  readonly flowsDir: string;
  readonly store: EngineStore;
  readonly engine: FlowEngine;
  /** Stops the console, the engine and the bus, and deletes the directories. */
  close(): Promise<void>;
}

/** Writes `files` (name -> text) into a fresh flows directory and serves a console over its engine. */
export async function startFlowsConsole(files: Record<string, string>): Promise<FlowsConsole> {
  const root = await mkdtemp(join(tmpdir(), 'sb-flows-console-'));
  const flowsDir = join(root, 'flows');
  await mkdir(flowsDir);
  for (const [name, text] of Object.entries(files)) await writeFile(join(flowsDir, name), text);
  const bus = new MemoryBus();
  const store = EngineStore.open(join(root, 'data'));
  const templates = new TemplateEngine({ datastore: (key) => store.datastoreGet(key) });
  let engine: FlowEngine | undefined;
  // As engine/start-engine.ts builds it: the engine's own directory, with its template checks.
  const flows = await FlowDirectory.open({
    dir: flowsDir,
    debounceMs: 20,
    validate: (flow, file) => checkFlowTemplates(flow, file, templates),
    onChange: (loaded) => engine?.setFlows(loaded),
  });
  engine = createTestEngine(bus, store, [...flows.flows()], 60_000, { templates });
  await engine.start();
  const running = await startConsole({
    bus,
    logger: testLogger,
    config: parseConsoleConfig({ SWITCHBOARD_CONSOLE_PORT: '0' }),
    engine: { store, flows, templates, flowsDir },
  });
  const started = engine;
  return {
    bus,
    console: running,
    flowsDir,
    store,
    engine: started,
    async close() {
      await running.close();
      await started.stop();
      await flows.close();
      await bus.close();
      store.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** An API answer: its fields, or `error` with its stable code and reason. */
export type ApiAnswer = { error?: { code: string; message: string } } & Record<string, unknown>;

/** Fetches a console API path as JSON; POSTs `body` as JSON when given, from the console's own origin. */
export async function api<T = ApiAnswer>(
  console: RunningConsole,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: T }> {
  const response = await fetch(`${console.url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: body === undefined ? {} : { 'content-type': 'application/json', origin: console.url },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, json: (await response.json()) as T };
}

export { eventually };
