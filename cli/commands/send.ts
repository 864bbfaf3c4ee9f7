import { readFile } from 'node:fs/promises';
import { text } from 'node:stream/consumers';
import type { Bus } from '../../shared/bus/bus.ts';
import { COMMANDS_EXCHANGE, packQueueName, routingKey } from '../../shared/bus/topology.ts';
import { parseConfig } from '../../shared/config.ts';
import { createEnvelope, type Envelope } from '../../shared/envelope.ts';
import { redactUrl } from '../../shared/observability/redact.ts';
import { parseLabels } from '../../shared/runtime/labels.ts';
import { connectBus } from '../../shared/runtime/process.ts';
import {
  type CliCommand,
  type CliIo,
  COMMON_SETTINGS_HELP,
  EXIT,
  parseCommandLine,
  processLogger,
  UsageError,
} from '../cli-support.ts';

export const sendCommand: CliCommand = {
  name: 'send',
  summary: 'publish a command, and with --wait print its result event',
  help: `Usage: switchboard send <pack> <Command> [--input JSON] [--labels k=v,...] [--wait] [--timeout SECONDS]

Publishes the command <Command> for the pack <pack> on RabbitMQ (routing key <pack>.<Command>).
Without --wait it prints the command's id and exits once the broker has confirmed it.
With --wait it prints the result event as JSON.

Options:
  --input JSON          the command's payload: JSON text, @file.json, or - for standard input (default: {})
  --labels k=v,...      only a pack instance with these labels may run it (default: any instance)
  --wait                wait for the result event and print it
  --timeout SECONDS     how long --wait waits (default: 30)
  --id ID               the command's id (default: a new UUID); re-sending an id is answered, not re-run
  --correlation-id ID   correlation id to carry (default: the command id)

Exit status: 0 published (or a success event with --wait); 1 the result was a failure event;
2 no result within --timeout; 64 wrong arguments; 69 the broker or the pack's queue is missing;
78 a configuration error.

Example:
  npx switchboard send slack SendMessage --input '{"channelId":"C1","message":"hi"}' --wait

${COMMON_SETTINGS_HELP}
`,
  async run(argv, io) {
    const { values, positionals } = parseCommandLine(
      argv,
      {
        input: { type: 'string' },
        labels: { type: 'string', multiple: true },
        wait: { type: 'boolean' },
        timeout: { type: 'string' },
        id: { type: 'string' },
        'correlation-id': { type: 'string' },
      },
      true,
    );
    if (positionals.length !== 2)
      throw new UsageError('give a pack and a command, e.g. `send slack SendMessage`');
    const [pack, name] = positionals as [string, string];
    if (!/^[a-z][a-z0-9-]*$/.test(pack))
      throw new UsageError(`pack names are lower-case, e.g. "${pack.toLowerCase()}"`);
    if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(name)) throw new UsageError(`"${name}" is not a command name`);
    const timeoutSeconds = Number(values.timeout ?? 30);
    if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0)
      throw new UsageError('--timeout takes a number of seconds');
    const payload = await readInput(values.input, io);
    let labels: Record<string, string>;
    try {
      labels = values.labels ? parseLabels(values.labels) : {};
    } catch (error) {
      throw new UsageError(`--labels: ${(error as Error).message}`);
    }
    const config = parseConfig(io.env);
    const logger = processLogger(config, 'switchboard-send', io.env.LOG_LEVEL ? config.logLevel : 'error');
    let bus: Bus;
    try {
      bus = await connectBus(config, logger, 'switchboard send', { initialRetries: 2 });
    } catch (error) {
      io.stderr.write(`cannot reach RabbitMQ at ${redactUrl(config.amqpUrl)}: ${(error as Error).message}\n`);
      return EXIT.unavailable;
    }
    try {
      if (!(await bus.hasQueue(packQueueName(pack)))) {
        io.stderr.write(
          `no instance of the "${pack}" pack has ever started on this broker (queue ${packQueueName(pack)} is missing), so nothing would receive the command\n`,
        );
        return EXIT.unavailable;
      }
      const command = createEnvelope({
        kind: 'command',
        pack,
        name,
        payload,
        labels,
        correlationId: values['correlation-id'],
        ...(values.id ? { id: values.id } : {}),
      });
      if (!values.wait) {
        await bus.publish({ exchange: COMMANDS_EXCHANGE, routingKey: routingKey(pack, name) }, command);
        io.stdout.write(`${command.id}\n`);
        return EXIT.ok;
      }
      const result = await publishAndWait(bus, command, timeoutSeconds * 1000);
      if (!result) {
        io.stderr.write(
          `no result for command ${command.id} within ${timeoutSeconds} s; is a "${pack}" pack running?\n`,
        );
        return EXIT.noResult;
      }
      io.stdout.write(`${JSON.stringify(result, null, io.stdout.isTTY ? 2 : undefined)}\n`);
      return isFailure(result) ? EXIT.failure : EXIT.ok;
    } finally {
      await bus.close();
    }
  },
};

/** Publishes with a private reply queue and resolves with the result event, or undefined on timeout. */
async function publishAndWait(bus: Bus, command: Envelope, timeoutMs: number): Promise<Envelope | undefined> {
  let deliver!: (result: Envelope) => void;
  const arrived = new Promise<Envelope>((resolve) => {
    deliver = resolve;
  });
  const replies = await bus.consume(
    { durability: 'private', bindings: [], kind: 'event', prefetch: 10 },
    async ({ envelope }) => {
      if (envelope.causationId === command.id) deliver(envelope);
    },
  );
  try {
    await bus.publish(
      { exchange: COMMANDS_EXCHANGE, routingKey: routingKey(command.pack, command.name) },
      command,
      { replyTo: await replies.queue },
    );
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), timeoutMs);
    });
    const result = await Promise.race([arrived, timedOut]);
    clearTimeout(timer);
    return result;
  } finally {
    await replies.stop();
  }
}

/** Failure events carry an errorCode (docs/protocol.md); success events never do. */
function isFailure(result: Envelope): boolean {
  const payload = result.payload as Record<string, unknown> | null;
  return typeof payload === 'object' && payload !== null && typeof payload.errorCode === 'string';
}

async function readInput(input: string | undefined, io: CliIo): Promise<unknown> {
  let source = input ?? '{}';
  if (source === '-') source = await text(io.stdin);
  else if (source.startsWith('@')) source = await readFile(source.slice(1), 'utf8');
  try {
    return JSON.parse(source);
  } catch (error) {
    throw new UsageError(`--input is not JSON: ${(error as Error).message}`);
  }
}
