import { FlowEngine, type FlowEngineOptions } from '../../engine/engine.ts';
import { EngineMetrics } from '../../engine/engine-metrics.ts';
import type { Flow, LoadedFlow } from '../../engine/flow.ts';
import type { EngineStore } from '../../engine/state/engine-store.ts';
import { TemplateEngine } from '../../engine/templates/template-engine.ts';
import type { Bus } from '../../shared/bus/bus.ts';
import { Metrics } from '../../shared/observability/metrics.ts';
import { testLogger } from './bus.ts';

/** A flow engine on `bus` and `store`, running `flows`; call start() to consume events. Override any option. */
export function createTestEngine(
  bus: Bus,
  store: EngineStore,
  flows: LoadedFlow[],
  executionTimeoutMs = 60_000,
  overrides: Partial<FlowEngineOptions> = {},
) {
  const engine = new FlowEngine({
    bus,
    store,
    templates: new TemplateEngine({ datastore: (key) => store.datastoreGet(key) }),
    logger: testLogger,
    metrics: new EngineMetrics(new Metrics().registry),
    prefetch: 50,
    executionTimeoutMs,
    retention: { maxAgeMs: 86_400_000, maxCount: 1000 },
    ...overrides,
  });
  engine.setFlows(flows);
  return engine;
}

export const loadedFlow = (flow: Flow, version = 'v1'): LoadedFlow => ({
  flow,
  file: `${flow.name}.json`,
  version,
});
