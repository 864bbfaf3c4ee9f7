import type { Bus, Consumption } from '../../shared/bus/bus.ts';
import { COMMANDS_EXCHANGE, EVENTS_EXCHANGE } from '../../shared/bus/topology.ts';
import { parseConfig } from '../../shared/config.ts';
import type { Envelope } from '../../shared/envelope.ts';
import { redactUrl } from '../../shared/observability/redact.ts';
import { connectBus } from '../../shared/runtime/process.ts';
import {
  type CliCommand,
  COMMON_SETTINGS_HELP,
  EXIT,
  parseCommandLine,
  processLogger,
  UsageError,
} from '../cli-support.ts';

export const tailCommand: CliCommand = {
  name: 'tail',
  summary: 'print events as they pass on the bus',
  help: `Usage: switchboard tail [pattern] [--commands] [--json]

Prints every event whose routing key <pack>.<Event> matches the pattern, until interrupted.
Patterns are RabbitMQ topic patterns: * is one word, # any number (default: #, everything).
  switchboard tail 'slack.*'          everything the slack pack emits
  switchboard tail '*.MessageSent'    one event from every pack

On a terminal each message is one readable line; piped, each is the full envelope as a JSON line.

Options:
  --commands   show commands too (they are not consumed: the packs still get them)
  --json       JSON lines even on a terminal

${COMMON_SETTINGS_HELP}
`,
  async run(argv, io) {
    const { values, positionals } = parseCommandLine(
      argv,
      { commands: { type: 'boolean' }, json: { type: 'boolean' } },
      true,
    );
    if (positionals.length > 1) throw new UsageError('give at most one pattern');
    const pattern = positionals[0] ?? '#';
    if (!/^([a-zA-Z0-9_-]+|\*|#)(\.([a-zA-Z0-9_-]+|\*|#))*$/.test(pattern)) {
      throw new UsageError(`"${pattern}" is not a topic pattern (words, * or #, separated by dots)`);
    }
    const config = parseConfig(io.env);
    const logger = processLogger(config, 'switchboard-tail', io.env.LOG_LEVEL ? config.logLevel : 'warn');
    let bus: Bus;
    try {
      bus = await connectBus(config, logger, 'switchboard tail', { initialRetries: 2 });
    } catch (error) {
      io.stderr.write(`cannot reach RabbitMQ at ${redactUrl(config.amqpUrl)}: ${(error as Error).message}\n`);
      return EXIT.unavailable;
    }
    const asJson = values.json === true || !io.stdout.isTTY;
    const print = async ({ envelope }: { envelope: Envelope }) => {
      io.stdout.write(`${asJson ? JSON.stringify(envelope) : readableLine(envelope)}\n`);
    };
    const consumptions: Consumption[] = [
      await bus.consume(
        {
          durability: 'private',
          bindings: [{ exchange: EVENTS_EXCHANGE, pattern }],
          kind: 'event',
          prefetch: 100,
        },
        print,
      ),
    ];
    if (values.commands) {
      consumptions.push(
        await bus.consume(
          {
            durability: 'private',
            bindings: [{ exchange: COMMANDS_EXCHANGE, pattern }],
            kind: 'command',
            prefetch: 100,
          },
          print,
        ),
      );
    }
    io.stderr.write(`tailing ${pattern} on ${redactUrl(config.amqpUrl)} (Ctrl-C to stop)\n`);
    await new Promise<void>((resolve) => {
      const stop = () => {
        process.off('SIGINT', stop).off('SIGTERM', stop);
        resolve();
      };
      process.on('SIGINT', stop).on('SIGTERM', stop);
    });
    await Promise.allSettled(consumptions.map((consumption) => consumption.stop()));
    await bus.close();
    return EXIT.ok;
  },
};

function readableLine(envelope: Envelope): string {
  const time = envelope.createdAt.slice(11, 23);
  const kind = envelope.kind === 'command' ? 'command ' : '';
  const correlation = envelope.correlationId ? ` [${envelope.correlationId.slice(0, 8)}]` : '';
  return `${time} ${kind}${envelope.pack}.${envelope.name}${correlation} ${JSON.stringify(envelope.payload)}`;
}
