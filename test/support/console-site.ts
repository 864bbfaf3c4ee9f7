// A whole console the way `switchboard all` runs it, on the in-memory bus: an engine with flows, a pack
// that answers, and the console reading both. For tests that look at every page with real content.
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseConsoleConfig } from '../../console/console-config.ts';
import { type RunningConsole, startConsole } from '../../console/console-server.ts';
import { parseEngineConfig } from '../../engine/engine-config.ts';
import { type EngineService, startEngine } from '../../engine/start-engine.ts';
import { MemoryBus } from '../../shared/bus/memory-bus.ts';
import { EVENTS_EXCHANGE, routingKey } from '../../shared/bus/topology.ts';
import { parseConfig } from '../../shared/config.ts';
import { createEnvelope, type Envelope } from '../../shared/envelope.ts';
import { Metrics } from '../../shared/observability/metrics.ts';
import type { PackRuntime } from '../../shared/runtime/pack-runtime.ts';
import { testLogger } from './bus.ts';
import { startTestPack } from './test-pack.ts';

/** The pack of the site's flows: the test pack (test/support/test-pack.ts) under this name. */
export const SITE_PACK = 'demo';

/** Two steps, the second after the first: the Flows graph has an edge, Executions a two-step timeline. */
const RELAY_FLOW = {
  name: 'relay',
  description: 'Posts what demo observed, then posts that it did.',
  steps: [
    {
      id: 'post',
      event: { packName: SITE_PACK, name: 'Observed' },
      command: {
        packName: SITE_PACK,
        name: 'Post',
        input: { channelId: 'C1', message: 'seen: {{ Event.Payload.what }}' },
      },
    },
    {
      id: 'confirm',
      dependsOn: ['post'],
      event: { packName: SITE_PACK, name: 'Posted' },
      command: { packName: SITE_PACK, name: 'Post', input: { channelId: 'C1', message: 'posted' } },
    },
  ],
};

/** Fails for good, so that Executions and the Overview have a failure to show. */
const BROKEN_FLOW = {
  name: 'broken',
  steps: [
    {
      id: 'break',
      event: { packName: SITE_PACK, name: 'Observed' },
      criteria: "{% if Event.Payload.what == 'trouble' %}true{% else %}false{% endif %}",
      command: { packName: SITE_PACK, name: 'Broken', input: {} },
    },
  ],
};

export interface ConsoleSite {
  readonly bus: MemoryBus;
  readonly console: RunningConsole;
  readonly engine: EngineService;
  readonly pack: PackRuntime;
  /** Publishes `<pack>.<name>` on the events exchange. */
  publishEvent(pack: string, name: string, payload: unknown): Promise<Envelope>;
  close(): Promise<void>;
}

export async function startConsoleSite(env: Record<string, string> = {}): Promise<ConsoleSite> {
  const dir = await mkdtemp(join(tmpdir(), 'sb-console-site-'));
  const flowsDir = join(dir, 'flows');
  await mkdir(flowsDir);
  await copyFile(resolve(import.meta.dirname, '../../flows/echo.json'), join(flowsDir, 'echo.json'));
  await writeFile(join(flowsDir, 'relay.json'), JSON.stringify(RELAY_FLOW, null, 2));
  await writeFile(join(flowsDir, 'broken.json'), JSON.stringify(BROKEN_FLOW, null, 2));
  await writeFile(join(flowsDir, 'refused.json'), '{"name": "refused", "steps": [{"event": {}}]}');
  const bus = new MemoryBus();
  const parts = { bus, metrics: new Metrics(), logger: testLogger, config: parseConfig({}) };
  const engine = await startEngine(
    parts,
    parseEngineConfig({}, { flows: flowsDir, dataDir: join(dir, 'data') }),
  );
  const console = await startConsole({
    bus,
    logger: testLogger,
    config: parseConsoleConfig({ SWITCHBOARD_CONSOLE_PORT: '0', ...env }),
    engine: engine.parts,
  });
  const pack = await startTestPack(bus, { name: SITE_PACK, labels: { env: 'test' } });
  return {
    bus,
    console,
    engine,
    pack,
    async publishEvent(eventPack, name, payload) {
      const event = createEnvelope({ kind: 'event', pack: eventPack, name, payload });
      await bus.publish({ exchange: EVENTS_EXCHANGE, routingKey: routingKey(eventPack, name) }, event);
      return event;
    },
    async close() {
      await pack.stop({ graceMs: 100 });
      await console.close();
      await engine.stop({ graceMs: 100 });
      await bus.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
