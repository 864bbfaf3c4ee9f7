/**
 * The benchmark's web console, in a process of its own so that its CPU is counted apart from the engine's:
 *   AMQP_URL=amqp://... SWITCHBOARD_CONSOLE_PORT=PORT node test/bench/console-process.ts
 * It is the console `switchboard all` serves (startConsole on the same broker: its bus tap copies every
 * event and command), without an engine of its own; live-client.ts streams its GET /api/events.
 */
import { processLogger } from '../../cli/cli-support.ts';
import { parseConsoleConfig } from '../../console/console-config.ts';
import { startConsole } from '../../console/console-server.ts';
import { parseConfig } from '../../shared/config.ts';
import { runUntilSignalled } from '../../shared/runtime/process.ts';

const config = parseConfig(process.env);
const consoleConfig = parseConsoleConfig(process.env);
const logger = processLogger(config, 'bench-console');

process.exitCode = await runUntilSignalled({
  name: 'bench console',
  config,
  logger,
  start: async ({ bus }) => {
    const running = await startConsole({ bus, logger, config: consoleConfig });
    return [{ ready: true, stop: () => running.close() }];
  },
});
