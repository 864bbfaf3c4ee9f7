import { existsSync } from 'node:fs';
import { CONSOLE_SETTINGS_HELP, parseConsoleConfig } from '../../console/console-config.ts';
import { ENGINE_SETTINGS_HELP, parseEngineConfig } from '../../engine/engine-config.ts';
import { startEngine } from '../../engine/start-engine.ts';
import { parseConfig } from '../../shared/config.ts';
import { renderVariablesHelp } from '../../shared/config-variables.ts';
import { runUntilSignalled, type Service, startPack } from '../../shared/runtime/process.ts';
import {
  type CliCommand,
  COMMON_SETTINGS_HELP,
  ENGINE_OPTIONS,
  EXIT,
  PROCESS_OPTIONS,
  parseCommandLine,
  processLogger,
  RUNTIME_SETTINGS_HELP,
  UsageError,
} from '../cli-support.ts';
import { startConsoleService } from '../console-service.ts';
import { PACK_CATALOG, type PackEntry } from '../pack-catalog.ts';
import { processSettings } from '../process-settings.ts';
import { startupSummary } from '../startup-summary.ts';

export function allCommand(catalog: readonly PackEntry[] = PACK_CATALOG): CliCommand {
  const settings = catalog
    .map((entry) => `  ${entry.name}:\n${renderVariablesHelp(entry.variables, { indent: '    ' })}`)
    .join('\n');
  return {
    name: 'all',
    summary: 'run every configured pack in one process (what `npm start` runs)',
    help: `Usage: switchboard all [--flows DIR] [--data-dir DIR] [--audiences FILE] [--health-port PORT]

Runs the flow engine (when the flows directory exists) and every pack whose settings are present in
the environment, in one process. Without AMQP_URL they
talk over an in-memory bus inside the process (nothing else can reach it); with AMQP_URL they use
RabbitMQ, exactly as separate \`switchboard pack\` processes would. Packs that are not configured are
listed at start with the variables that configure them. The web console is served on
http://127.0.0.1:8090 (SWITCHBOARD_CONSOLE_PORT). Stops cleanly on SIGTERM or SIGINT.

Packs in this build and their settings:
${settings || '  (none yet)'}

${COMMON_SETTINGS_HELP}
${RUNTIME_SETTINGS_HELP}
${ENGINE_SETTINGS_HELP}
${CONSOLE_SETTINGS_HELP}
`,
    async run(argv, io) {
      const { values, positionals } = parseCommandLine(
        argv,
        { ...ENGINE_OPTIONS, ...PROCESS_OPTIONS, audiences: { type: 'string' } },
        true,
      );
      if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
      const config = parseConfig(io.env, {
        healthPort: values['health-port'],
        logLevel: values['log-level'],
      });
      const engineConfig = parseEngineConfig(io.env, { flows: values.flows, dataDir: values['data-dir'] });
      const consoleConfig = parseConsoleConfig(io.env);
      const logger = processLogger(config, 'switchboard');
      const configured = catalog.filter((entry) => entry.isConfigured(io.env));
      if (configured.length === 0) {
        logger.warn(
          catalog.length === 0
            ? 'this build has no packs yet; see `switchboard --help`'
            : 'no pack is configured; see `switchboard all --help` for the settings of each',
        );
      }
      const runEngine = existsSync(engineConfig.flowsDir);
      if (!runEngine) {
        logger.warn(
          { dir: engineConfig.flowsDir },
          'no flows directory, so the flow engine does not run (set --flows)',
        );
      }
      // The notify pack reads its audiences beside the engine's flows, unless --audiences names a file.
      const packEnv = {
        ...io.env,
        SWITCHBOARD_FLOWS_DIR: engineConfig.flowsDir,
        ...(values.audiences ? { NOTIFY_AUDIENCES: values.audiences } : {}),
      };
      const packs = await Promise.all(configured.map((entry) => entry.load(packEnv)));
      const code = await runUntilSignalled({
        name: 'switchboard all',
        config,
        logger,
        memoryBus: !config.amqpUrlSet,
        start: async (parts) => {
          const services: Service[] = [];
          try {
            const engine = runEngine ? await startEngine(parts, engineConfig) : undefined;
            if (engine) services.push(engine);
            // Before the packs, so that the console sees their PackStarted.
            const webConsole = await startConsoleService(
              parts,
              consoleConfig,
              engine,
              processSettings(io.env, {
                engine: engine !== undefined,
                packs: true,
                packVariables: catalog.flatMap((entry) => entry.variables),
              }),
            );
            services.push(webConsole);
            for (const pack of packs) services.push(await startPack(pack, parts));
            logger.info(
              startupSummary({
                brokerUrl: config.amqpUrlSet ? config.amqpUrl : undefined,
                flows: engine && { dir: engineConfig.flowsDir, ...engine.startedWith },
                packs: catalog.map((entry) => ({
                  name: entry.name,
                  running: configured.includes(entry),
                  toRun: entry.toRun,
                })),
                console: { url: webConsole.url, tokenRequired: consoleConfig.token !== undefined },
              }),
            );
            return services;
          } catch (error) {
            // What started must not outlive the failed start (an open store, a listening port).
            await Promise.allSettled(services.map((service) => service.stop({ graceMs: 1000 })));
            throw error;
          }
        },
      });
      return code === 0 ? EXIT.ok : EXIT.failure;
    },
  };
}
