/**
 * How many commands per second one pack instance turns into result events on RabbitMQ, and how long each
 * takes, with the durable setup (quorum queues, persistent messages, confirms, ack after confirm).
 *   npm run bench:runtime                      # starts a throwaway broker
 *   AMQP_URL=amqp://... npm run bench:runtime  # or uses yours
 * Options: --commands N (default 20000), --rate R commands/s for the latency run (default 2000).
 */
import { parseArgs } from 'node:util';
import { AmqpBus } from '../../shared/bus/amqp/amqp-bus.ts';
import { COMMANDS_EXCHANGE, EVENTS_EXCHANGE, routingKey } from '../../shared/bus/topology.ts';
import { createEnvelope } from '../../shared/envelope.ts';
import { Metrics } from '../../shared/observability/metrics.ts';
import { defineCommand, definePack } from '../../shared/runtime/pack-definition.ts';
import { PackRuntime } from '../../shared/runtime/pack-runtime.ts';
import { testLogger } from '../support/bus.ts';
import { ensureRabbitmqInstalled, startThrowawayBroker } from '../support/throwaway-rabbitmq.ts';

const { values } = parseArgs({ options: { commands: { type: 'string' }, rate: { type: 'string' } } });
const total = Number(values.commands ?? 20_000);
const rate = Number(values.rate ?? 2000);

let url = process.env.AMQP_URL;
let dispose = async () => {};
if (!url) {
  await ensureRabbitmqInstalled((line) => console.error(line));
  const broker = await startThrowawayBroker();
  url = broker.url;
  dispose = () => broker.dispose();
}

const pack = `bench-${process.pid}`;
const echo = definePack({
  name: pack,
  version: '0',
  description: 'answers at once',
  commands: {
    Echo: defineCommand<{ n: number }>({
      description: 'returns its input',
      inputSchema: { type: 'object', required: ['n'], properties: { n: { type: 'integer' } } },
      success: 'Echoed',
      failure: 'EchoFailed',
      handler: async (input) => input,
    }),
  },
});
const connect = (name: string) => AmqpBus.connect({ url: url as string, name, logger: testLogger });
const [packBus, senderBus] = await Promise.all([connect('bench pack'), connect('bench sender')]);
const runtime = await PackRuntime.start({
  pack: echo,
  bus: packBus,
  labels: {},
  logger: testLogger,
  metrics: new Metrics(),
  prefetch: 500,
  commandTimeoutMs: 60_000,
  retry: { maxRetries: 0, minDelayMs: 10, maxDelayMs: 10 },
});

const sentAt = new Map<string, number>();
const latencies: number[] = [];
let received = 0;
let allDone: () => void = () => {};
await senderBus.consume(
  {
    durability: 'private',
    bindings: [{ exchange: EVENTS_EXCHANGE, pattern: `${pack}.Echoed` }],
    kind: 'event',
    prefetch: 1000,
  },
  async ({ envelope }) => {
    const started = sentAt.get(envelope.causationId as string);
    if (started === undefined) return;
    latencies.push(performance.now() - started);
    if (++received === sentAt.size) allDone();
  },
);

async function run(count: number, perSecond: number | undefined): Promise<{ seconds: number }> {
  sentAt.clear();
  latencies.length = 0;
  received = 0;
  const done = new Promise<void>((resolve) => {
    allDone = resolve;
  });
  const began = performance.now();
  const publishes: Array<Promise<void>> = [];
  for (let i = 0; i < count; i++) {
    if (perSecond !== undefined) {
      const due = began + (i * 1000) / perSecond;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    } else if (publishes.length >= 1000) {
      await Promise.all(publishes.splice(0));
    }
    const command = createEnvelope({ kind: 'command', pack, name: 'Echo', payload: { n: i } });
    sentAt.set(command.id, performance.now());
    publishes.push(
      senderBus.publish({ exchange: COMMANDS_EXCHANGE, routingKey: routingKey(pack, 'Echo') }, command),
    );
  }
  await Promise.all(publishes);
  await done;
  return { seconds: (performance.now() - began) / 1000 };
}

function percentile(sorted: number[], p: number): string {
  return (sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? Number.NaN).toFixed(
    1,
  );
}

function report(label: string, seconds: number): void {
  const sorted = [...latencies].sort((a, b) => a - b);
  console.log(
    `${label.padEnd(34)} ${String(sentAt.size).padStart(6)} commands  ${(sentAt.size / seconds).toFixed(0).padStart(6)} commands/s  p50 ${percentile(sorted, 50)} ms  p99 ${percentile(sorted, 99)} ms`,
  );
}

await run(Math.min(2000, total), undefined); // warm-up
const throughput = await run(total, undefined);
report('as fast as possible', throughput.seconds);
const paced = await run(Math.min(total, rate * 5), rate);
report(`paced at ${rate}/s`, paced.seconds);
const memory = process.memoryUsage();
console.log(
  `process memory: rss ${(memory.rss / 2 ** 20).toFixed(0)} MiB, heap used ${(memory.heapUsed / 2 ** 20).toFixed(0)} MiB`,
);

await runtime.stop({ graceMs: 1000 });
await Promise.all([packBus.close(), senderBus.close()]);
await dispose();
