import type { ProcessParts, Service } from '../shared/runtime/process.ts';
import { FlowEngine } from './engine.ts';
import type { EngineConfig } from './engine-config.ts';
import { EngineMetrics } from './engine-metrics.ts';
import { checkFlowTemplates } from './flow-templates.ts';
import { FlowDirectory } from './flows/flow-directory.ts';
import type { FlowProblem } from './flows/parse-flow.ts';
import { EngineStore } from './state/engine-store.ts';
import { TemplateEngine } from './templates/template-engine.ts';

/** The running engine, with what its first load of the flows found (for the start-up summary). */
export interface EngineService extends Service {
  readonly startedWith: { loaded: string[]; refused: FlowProblem[] };
  /** What a console in the same process reads: the store, the flows, the templates. */
  readonly parts: { store: EngineStore; flows: FlowDirectory; templates: TemplateEngine; flowsDir: string };
}

/** Builds the engine's parts, loads and watches the flows, and starts consuming events. */
export async function startEngine(parts: ProcessParts, config: EngineConfig): Promise<EngineService> {
  const logger = parts.logger.child({ component: 'engine' });
  const store = EngineStore.open(config.dataDir, {
    groupCommit: {
      // Once per lost batch; the events whose writes it held are not acknowledged, so they come again.
      onError: (error) =>
        logger.error(
          { reason: error.message },
          'could not save engine state; its events will be handled again',
        ),
    },
  });
  const templates = new TemplateEngine({ datastore: (key) => store.datastoreGet(key) });
  const engine = new FlowEngine({
    bus: parts.bus,
    store,
    templates,
    logger,
    metrics: new EngineMetrics(parts.metrics.registry),
    prefetch: config.prefetch,
    executionTimeoutMs: config.executionTimeoutMs,
    retention: { maxAgeMs: config.retentionMaxAgeMs, maxCount: config.retentionMaxCount },
    queue: config.queue,
  });
  const refusedAtStart: FlowProblem[] = [];
  let opened = false;
  const flows = await FlowDirectory.open({
    dir: config.flowsDir,
    validate: (flow, file) => checkFlowTemplates(flow, file, templates),
    onChange: (loaded) => {
      engine.setFlows(loaded);
      logger.info({ flows: loaded.map((flow) => `${flow.flow.name}@${flow.version}`) }, 'flows reloaded');
    },
    onProblems: (problems) => {
      if (!opened) refusedAtStart.push(...problems);
      for (const problem of problems)
        logger.error(
          problem,
          'a flow file has a problem and is not in force (a previous good version of it stays)',
        );
    },
  });
  opened = true;
  engine.setFlows(flows.flows());
  await engine.start();
  logger.info(
    { dir: config.flowsDir, flows: flows.flows().map((flow) => flow.flow.name), dataDir: config.dataDir },
    'engine started',
  );
  return {
    startedWith: { loaded: flows.flows().map((flow) => flow.flow.name), refused: refusedAtStart },
    parts: { store, flows, templates, flowsDir: config.flowsDir },
    get ready() {
      return engine.ready;
    },
    async stop() {
      await engine.stop();
      await flows.close();
      store.close();
    },
  };
}
