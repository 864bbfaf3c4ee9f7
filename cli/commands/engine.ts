import { CONSOLE_SETTINGS_HELP, consoleRequested, parseConsoleConfig } from '../../console/console-config.ts';
import { ENGINE_SETTINGS_HELP, parseEngineConfig } from '../../engine/engine-config.ts';
import { startEngine } from '../../engine/start-engine.ts';
import { parseConfig } from '../../shared/config.ts';
import { runUntilSignalled } from '../../shared/runtime/process.ts';
import {
  type CliCommand,
  COMMON_SETTINGS_HELP,
  ENGINE_OPTIONS,
  EXIT,
  PROCESS_OPTIONS,
  parseCommandLine,
  processLogger,
  UsageError,
} from '../cli-support.ts';
import { startConsoleService } from '../console-service.ts';
import { processSettings } from '../process-settings.ts';

export const engineCommand: CliCommand = {
  name: 'engine',
  summary: 'run the flow engine: events in, the commands of matching flow steps out',
  help: `Usage: switchboard engine [--flows DIR] [--data-dir DIR] [--health-port PORT]

Consumes every event on RabbitMQ (queue switchboard.engine), matches it against the flows in the flows
directory, and publishes the commands of the steps that fire. Result events continue their flow
instance (steps with dependsOn). The directory is watched: edits take effect without a restart, and a
file that does not validate is reported while its previous version stays in force.
Instances, the datastore and the execution history live in the data directory (SQLite).
With SWITCHBOARD_CONSOLE_PORT set, it also serves the web console (docs/console.md).
Stops cleanly on SIGTERM or SIGINT.

Options:
  --flows DIR          flows directory (overrides SWITCHBOARD_FLOWS_DIR; default ./flows)
  --data-dir DIR       state directory (overrides SWITCHBOARD_DATA_DIR; default ./.switchboard)
  --health-port PORT   overrides HEALTH_PORT
  --log-level LEVEL    overrides LOG_LEVEL

${COMMON_SETTINGS_HELP}
${ENGINE_SETTINGS_HELP}
${CONSOLE_SETTINGS_HELP}
`,
  async run(argv, io) {
    const { values, positionals } = parseCommandLine(argv, { ...ENGINE_OPTIONS, ...PROCESS_OPTIONS }, true);
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    const config = parseConfig(io.env, { healthPort: values['health-port'], logLevel: values['log-level'] });
    const engineConfig = parseEngineConfig(io.env, { flows: values.flows, dataDir: values['data-dir'] });
    const consoleConfig = consoleRequested(io.env) ? parseConsoleConfig(io.env) : undefined;
    const logger = processLogger(config, 'switchboard-engine');
    const code = await runUntilSignalled({
      name: 'switchboard engine',
      config,
      logger,
      start: async (parts) => {
        const engine = await startEngine(parts, engineConfig);
        if (!consoleConfig) return [engine];
        try {
          const settings = processSettings(io.env, { engine: true, packs: false, packVariables: [] });
          return [engine, await startConsoleService(parts, consoleConfig, engine, settings)];
        } catch (error) {
          await engine.stop({ graceMs: 1000 });
          throw error;
        }
      },
    });
    return code === 0 ? EXIT.ok : EXIT.failure;
  },
};
