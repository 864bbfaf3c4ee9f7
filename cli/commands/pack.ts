import { parseConfig } from '../../shared/config.ts';
import { renderVariablesHelp } from '../../shared/config-variables.ts';
import { runUntilSignalled, startPack } from '../../shared/runtime/process.ts';
import {
  type CliCommand,
  COMMON_SETTINGS_HELP,
  EXIT,
  PROCESS_OPTIONS,
  parseCommandLine,
  processLogger,
  RUNTIME_SETTINGS_HELP,
  UsageError,
} from '../cli-support.ts';
import { PACK_CATALOG, type PackEntry } from '../pack-catalog.ts';

export function packCommand(catalog: readonly PackEntry[] = PACK_CATALOG): CliCommand {
  const available =
    catalog.map((entry) => `  ${entry.name.padEnd(12)} ${entry.summary}`).join('\n') || '  (none yet)';
  // `pack <name> --help` shows that pack's variables; `pack --help` those of every pack.
  const variablesOf = (argv: readonly string[]) => {
    const named = catalog.filter((entry) => argv.includes(entry.name));
    return (named.length > 0 ? named : catalog)
      .map((entry) => `Variables of the ${entry.name} pack:\n${renderVariablesHelp(entry.variables)}`)
      .join('\n\n');
  };
  return {
    name: 'pack',
    summary: 'run one pack (a process that owns one outside system)',
    help: (
      argv,
    ) => `Usage: switchboard pack <name> [--labels k=v,...] [--state-dir DIR] [--health-port PORT] [--audiences FILE]

Runs one pack on RabbitMQ: it consumes the queue switchboard.pack.<name>, runs each command once,
and publishes one result event per command. Several instances of a pack share the queue.
Stops cleanly on SIGTERM or SIGINT: in-flight commands finish, then PackStopped, then exit 0.

Packs in this build:
${available}

${variablesOf(argv)}

Options:
  --labels k=v,...     this instance's labels (overrides SWITCHBOARD_LABELS); repeatable
  --state-dir DIR      overrides SWITCHBOARD_STATE_DIR
  --health-port PORT   overrides HEALTH_PORT
  --log-level LEVEL    overrides LOG_LEVEL
  --flows DIR          notify: the flows directory its audiences file is in (overrides SWITCHBOARD_FLOWS_DIR)
  --audiences FILE     notify: the audiences file (overrides NOTIFY_AUDIENCES)

${COMMON_SETTINGS_HELP}
${RUNTIME_SETTINGS_HELP}
`,
    async run(argv, io) {
      const { values, positionals } = parseCommandLine(
        argv,
        {
          labels: { type: 'string', multiple: true },
          'state-dir': { type: 'string' },
          flows: { type: 'string' },
          audiences: { type: 'string' },
          ...PROCESS_OPTIONS,
        },
        true,
      );
      if (positionals.length !== 1) throw new UsageError('name one pack, e.g. `switchboard pack slack`');
      const name = positionals[0] as string;
      const entry = catalog.find((candidate) => candidate.name === name.toLowerCase());
      if (!entry) {
        const names = catalog.map((candidate) => candidate.name).join(', ') || 'none yet';
        throw new UsageError(`there is no pack "${name}" in this build (packs: ${names})`);
      }
      const config = parseConfig(io.env, {
        labels: values.labels,
        stateDir: values['state-dir'],
        healthPort: values['health-port'],
        logLevel: values['log-level'],
      });
      const pack = await entry.load({
        ...io.env,
        ...(values.flows ? { SWITCHBOARD_FLOWS_DIR: values.flows } : {}),
        ...(values.audiences ? { NOTIFY_AUDIENCES: values.audiences } : {}),
      });
      const logger = processLogger(config, `switchboard-${entry.name}`);
      const code = await runUntilSignalled({
        name: `switchboard ${entry.name}`,
        config,
        logger,
        start: async (parts) => [await startPack(pack, parts)],
      });
      return code === 0 ? EXIT.ok : EXIT.failure;
    },
  };
}
