import type { ConsoleConfig } from '../console/console-config.ts';
import { startConsole } from '../console/console-server.ts';
import type { ProcessSetting } from '../console/process-settings.ts';
import type { EngineService } from '../engine/start-engine.ts';
import type { ProcessParts, Service } from '../shared/runtime/process.ts';

/** The web console as one of a process's services, reading the engine of the same process if any. */
export async function startConsoleService(
  parts: ProcessParts,
  config: ConsoleConfig,
  engine: EngineService | undefined,
  settings: readonly ProcessSetting[],
): Promise<Service & { url: string }> {
  const running = await startConsole({
    bus: parts.bus,
    logger: parts.logger,
    config,
    engine: engine?.parts,
    settings,
  });
  return { url: running.url, ready: true, stop: () => running.close() };
}
