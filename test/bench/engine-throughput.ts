/**
 * End-to-end cost of the flow engine on RabbitMQ, against the same chain written directly on amqplib.
 *   npm run bench                      # starts a throwaway broker
 *   AMQP_URL=amqp://... npm run bench  # or uses yours (it creates bench.* queues and deletes them again)
 *
 * Switchboard: a load generator publishes slack.ReceivedMessage ({channelId, user:{id}, message:"echo hi N"})
 * to switchboard.events; `switchboard engine` runs the shipped echo flow and publishes slack.SendMessage;
 * the `slack` pack (chat-pack-process.ts, through `switchboard pack`) POSTs to a fake chat API
 * (fake-chat-api.ts) and answers slack.MessageSent, which the load generator counts. The result carries the
 * instance's correlationId, which the engine derives from the event id (deterministicId), so the load
 * generator knows which event each result answers without consuming the commands.
 * Baseline: the same chain on plain amqplib with the same durability (baseline-chain.ts).
 * With a Live client (by default): Switchboard's runs again while a web console (console-process.ts, a
 * process of its own on the same broker) streams GET /api/events to one client (live-client.ts, in this
 * process) throughout; its throughput and latency are printed beside the figures without it.
 * Engine, pack, load generator (and baseline roles) each run in their own process; the fake chat API runs
 * in this one. Durable queues are quorum queues, as Switchboard declares them.
 *
 * Reported per run: events/s until all work is done (Switchboard's engine also consumes each result event
 * to complete its execution; the run ends when its /metrics count them all, so the next run starts idle),
 * latency from publishing an event to counting its result (p50/p95/p99/max), the CPU each process spent
 * per event (Linux /proc), and how busy the whole machine was. Then Switchboard / baseline ratios.
 *
 * Options:
 *   --events N        events of the full-speed run (default 20000), after --warmup N (default 2000)
 *   --rate R          events/s of the latency run; a comma list runs several (default 1000)
 *   --seconds S       length of each latency run (default 10)
 *   --only switchboard|baseline    run one side only
 *   --queue-type quorum|classic    baseline and counter queues (default quorum, as Switchboard's)
 *   --profile         run the engine and pack processes (of both chains) with --cpu-prof; prints the files
 *   --timeline        print latency by second of each run (stalls, backlogs)
 *   --no-live-client  skip Switchboard's runs with a console streaming Live (they take as long again)
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { ConsumeMessage } from 'amqplib';
import { ENGINE_QUEUE } from '../../engine/engine.ts';
import { EVENTS_EXCHANGE, packQueueName } from '../../shared/bus/topology.ts';
import { deterministicId } from '../../shared/deterministic-id.ts';
import {
  AckBatch,
  BASELINE_COMMANDS,
  BASELINE_EVENTS,
  BASELINE_QUEUES,
  connect,
  type QueueType,
  queueArguments,
} from './baseline-chain.ts';
import { startFakeChatApi } from './fake-chat-api.ts';
import { type LiveClient, openLiveClient } from './live-client.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(ROOT, 'cli/switchboard.ts');
const ECHO_FLOW = join(ROOT, 'flows/echo.json');
const PACK_PROCESS = fileURLToPath(new URL('./chat-pack-process.ts', import.meta.url));
const CONSOLE_PROCESS = fileURLToPath(new URL('./console-process.ts', import.meta.url));
const BASELINE_PROCESS = fileURLToPath(new URL('./baseline-chain.ts', import.meta.url));
const SELF = fileURLToPath(import.meta.url);

type Target = 'switchboard' | 'baseline';

interface RunResult {
  label: string;
  events: number;
  received: number;
  unmatched: number;
  /** From the first event published to the last result counted. */
  seconds: number;
  /** Until the engine had also finished the results (completed its executions); = seconds for the baseline. */
  drainedSeconds: number;
  /** Events per second over drainedSeconds: the rate the whole chain can keep up. */
  perSecond: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  /** CPU seconds each process (and `machine`: all of them) used during the run. */
  cpu: Record<string, number>;
}

const { values } = parseArgs({
  options: {
    role: { type: 'string' },
    target: { type: 'string' },
    url: { type: 'string' },
    pids: { type: 'string' },
    events: { type: 'string' },
    warmup: { type: 'string' },
    rate: { type: 'string' },
    seconds: { type: 'string' },
    only: { type: 'string' },
    'queue-type': { type: 'string' },
    profile: { type: 'boolean' },
    timeline: { type: 'boolean' },
    'engine-metrics': { type: 'string' },
    'live-client': { type: 'boolean', default: true },
  },
  allowNegative: true,
});
const events = positiveInteger('--events', values.events ?? '20000');
const warmup = positiveInteger('--warmup', values.warmup ?? '2000');
const rates = (values.rate ?? '1000').split(',').map((rate) => positiveInteger('--rate', rate));
const seconds = positiveInteger('--seconds', values.seconds ?? '10');
const queueType = (values['queue-type'] ?? 'quorum') as QueueType;
if (queueType !== 'quorum' && queueType !== 'classic') usage('--queue-type is quorum or classic');

/** Where --profile writes the CPU profiles of the processes it starts. */
let profileDir: string | undefined;

function nodeFlagsFor(name: string): string[] {
  return profileDir
    ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${name}.cpuprofile`]
    : [];
}

function positiveInteger(flag: string, value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) usage(`${flag} must be a positive whole number`);
  return number;
}

function usage(message: string): never {
  process.stderr.write(`engine-throughput: ${message}\n`);
  process.exit(64);
}

if (values.role === 'load') {
  await generateLoad(values.target as Target, values.url as string);
} else {
  await orchestrate();
}

// ---------------------------------------------------------------------------------------------------
// The load generator: publishes events, counts the result events, measures each event's round trip.

async function generateLoad(target: Target, url: string): Promise<void> {
  const exchange = target === 'switchboard' ? EVENTS_EXCHANGE : BASELINE_EVENTS;
  const flow = JSON.parse(readFileSync(ECHO_FLOW, 'utf8')) as { name: string; steps: Array<{ id: string }> };
  const stepId = flow.steps[0]?.id as string;
  // The engine names an instance deterministicId('instance', event id, flow, step); the result carries it.
  // The baseline engine uses the event id as the command's correlationId.
  const keyOf =
    target === 'switchboard'
      ? (eventId: string) => deterministicId('instance', eventId, flow.name, stepId)
      : (eventId: string) => eventId;
  const pids = Object.fromEntries(
    (values.pids ?? '')
      .split(',')
      .filter(Boolean)
      .map((entry) => entry.split(':') as [string, string]),
  );
  pids['load generator'] = String(process.pid);
  pids.machine = 'stat';

  const publishConnection = await connect(url, `bench ${target} load publisher`);
  const counterConnection = await connect(url, `bench ${target} load counter`);
  const publisher = await publishConnection.createConfirmChannel();
  const counter = await counterConnection.createChannel();
  const counterQueue = `bench.counter.${target}`;
  await counter.assertExchange(exchange, 'topic', { durable: true });
  await counter.deleteQueue(counterQueue);
  await counter.assertQueue(counterQueue, { durable: true, arguments: queueArguments(queueType) });
  await counter.bindQueue(counterQueue, exchange, 'slack.MessageSent');
  await counter.prefetch(1000);

  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  const publishedAt: number[] = [];
  let unmatched = 0;
  let lastResultAt = 0;
  const acks = new AckBatch(counter);
  const { consumerTag } = await counter.consume(counterQueue, (message: ConsumeMessage | null) => {
    if (message === null) return;
    const now = performance.now();
    acks.received(message);
    const key = message.properties.correlationId as string | undefined;
    const started = key === undefined ? undefined : sentAt.get(key);
    if (started === undefined) unmatched++;
    else {
      sentAt.delete(key as string);
      latencies.push(now - started);
      publishedAt.push(started);
      lastResultAt = now;
    }
    acks.finished(message);
  });

  const window = 1000;
  let confirmsPending = 0;
  let publishFailures = 0;
  let slotFree: (() => void) | undefined;
  const publishEvent = (n: number): void => {
    const id = randomUUID();
    const event = {
      id,
      kind: 'event',
      pack: 'slack',
      name: 'ReceivedMessage',
      payload: { channelId: 'C024BE91L', user: { id: 'U0G9QF9C6' }, message: `echo hi ${n}` },
      createdAt: new Date().toISOString(),
    };
    const body = Buffer.from(JSON.stringify(event));
    const key = keyOf(id);
    confirmsPending++;
    sentAt.set(key, performance.now());
    publisher.publish(
      exchange,
      'slack.ReceivedMessage',
      body,
      {
        persistent: true,
        contentType: 'application/json',
        messageId: id,
        type: 'ReceivedMessage',
        appId: 'slack',
        timestamp: Math.floor(Date.now() / 1000),
      },
      (error: unknown) => {
        confirmsPending--;
        if (error) publishFailures++;
        const free = slotFree;
        slotFree = undefined;
        free?.();
      },
    );
  };

  const metricsUrl = values['engine-metrics'];
  /** Executions of the echo flow the engine has finished, from its /metrics; undefined for the baseline. */
  const engineExecutionCount = async (): Promise<number | undefined> => {
    if (!metricsUrl) return undefined;
    const text = await (await fetch(metricsUrl)).text();
    let total = 0;
    for (const line of text.split('\n')) {
      if (line.startsWith('switchboard_engine_executions_total{') && line.includes(`flow="${flow.name}"`)) {
        total += Number(line.slice(line.lastIndexOf(' ') + 1));
      }
    }
    return total;
  };
  /** Waits until the engine finished `count` more executions; when it did (performance.now()). */
  const engineExecutions = async (count: number, before: number | undefined): Promise<number | undefined> => {
    if (before === undefined) return undefined;
    let last = -1;
    let lastProgress = performance.now();
    while (performance.now() - lastProgress < 30_000) {
      const done = ((await engineExecutionCount()) as number) - before;
      if (done >= count) return performance.now();
      if (done !== last) {
        last = done;
        lastProgress = performance.now();
      }
      await sleep(20);
    }
    process.stdout.write(`  the engine finished only ${last} of ${count} executions\n`);
    return undefined;
  };

  const run = async (label: string, count: number, perSecond?: number): Promise<RunResult> => {
    sentAt.clear();
    latencies.length = 0;
    publishedAt.length = 0;
    unmatched = 0;
    const executionsBefore = await engineExecutionCount();
    const cpuBefore = readCpu(pids);
    const began = performance.now();
    for (let n = 0; n < count; n++) {
      if (perSecond !== undefined) {
        const wait = began + (n * 1000) / perSecond - performance.now();
        if (wait >= 1) await sleep(wait);
      } else {
        while (confirmsPending >= window) {
          await new Promise<void>((resolve) => {
            slotFree = resolve;
          });
        }
      }
      publishEvent(n);
    }
    // Done when every result is in, or when none came for a while (then the missing ones are reported).
    let lastCount = -1;
    let lastProgress = performance.now();
    while (latencies.length < count && performance.now() - lastProgress < 30_000) {
      if (latencies.length !== lastCount) {
        lastCount = latencies.length;
        lastProgress = performance.now();
      }
      await sleep(2);
    }
    const elapsed = ((latencies.length === count ? lastResultAt : performance.now()) - began) / 1000;
    // Switchboard's engine consumes the result events too (it completes the execution and continues the
    // instance); the run ends when it has, so that the next run starts on an idle system.
    const finished = await engineExecutions(count, executionsBefore);
    const drained =
      executionsBefore === undefined
        ? elapsed
        : Math.max(elapsed, ((finished ?? performance.now()) - began) / 1000);
    const cpuAfter = readCpu(pids);
    if (values.timeline) printTimeline(label, began, publishedAt, latencies);
    const sorted = latencies.toSorted((a, b) => a - b);
    const at = (p: number) =>
      sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? NaN;
    const cpu: Record<string, number> = {};
    for (const name of Object.keys(pids)) {
      const before = cpuBefore[name];
      const after = cpuAfter[name];
      if (before !== undefined && after !== undefined) cpu[name] = after - before;
    }
    return {
      label,
      events: count,
      received: latencies.length,
      unmatched,
      seconds: elapsed,
      drainedSeconds: drained,
      perSecond: latencies.length / drained,
      p50: at(50),
      p95: at(95),
      p99: at(99),
      max: sorted.at(-1) ?? NaN,
      cpu,
    };
  };

  const results: RunResult[] = [];
  await run('warm-up', warmup);
  results.push(await run('full speed', events));
  for (const rate of rates) results.push(await run(`${rate}/s`, rate * seconds, rate));
  if (publishFailures > 0) process.stderr.write(`load generator: ${publishFailures} publishes were nacked\n`);

  await counter.cancel(consumerTag);
  acks.flush();
  await counter.deleteQueue(counterQueue);
  await Promise.allSettled([publishConnection.close(), counterConnection.close()]);
  process.stdout.write(`RESULT ${JSON.stringify(results)}\n`);
}

/** Latency by the second the events were published in: shows stalls and backlogs. */
function printTimeline(label: string, began: number, publishedAt: number[], latencies: number[]): void {
  const buckets: number[][] = [];
  publishedAt.forEach((at, index) => {
    const second = Math.floor((at - began) / 1000);
    const bucket = buckets[second] ?? [];
    bucket.push(latencies[index] as number);
    buckets[second] = bucket;
  });
  console.log(`  timeline of ${label} (by second of publishing: events, p50, max ms)`);
  buckets.forEach((bucket, second) => {
    const sorted = bucket.toSorted((a, b) => a - b);
    const p50 = sorted[Math.floor(sorted.length / 2)] as number;
    console.log(
      `    ${String(second).padStart(3)}s ${String(sorted.length).padStart(6)}  p50 ${p50.toFixed(1).padStart(7)}  max ${(sorted.at(-1) as number).toFixed(1).padStart(7)}`,
    );
  });
}

/** CPU seconds each process (and, for pid `stat`, the whole machine) has used so far (Linux /proc). */
function readCpu(pids: Record<string, string>): Record<string, number> {
  const seconds: Record<string, number> = {};
  for (const [name, pid] of Object.entries(pids)) {
    try {
      if (pid === 'stat') {
        // user nice system idle iowait irq softirq steal: everything but idle and iowait is busy.
        const ticks = (readFileSync('/proc/stat', 'utf8').split('\n')[0] as string)
          .split(/\s+/)
          .slice(1, 9)
          .map(Number);
        const busy = ticks.reduce((sum, tick) => sum + tick, 0) - (ticks[3] ?? 0) - (ticks[4] ?? 0);
        seconds[name] = busy / 100;
        continue;
      }
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // utime and stime, in clock ticks of 1/100 s (fields 14 and 15 of proc(5)).
      seconds[name] = (Number(fields[11]) + Number(fields[12])) / 100;
    } catch {
      // Not Linux, or the process is gone.
    }
  }
  return seconds;
}

// ---------------------------------------------------------------------------------------------------
// The orchestrator: broker, fake chat API, the processes of each chain, the load generator, the report.

interface Child {
  name: string;
  process: ChildProcess;
  exited: Promise<number | null>;
}

async function orchestrate(): Promise<void> {
  const { ensureRabbitmqInstalled, startThrowawayBroker } = await import('../support/throwaway-rabbitmq.ts');
  const children = new Set<Child>();
  const cleanups: Array<() => Promise<void>> = [];
  let interrupted = false;
  const cleanUp = async () => {
    await Promise.allSettled([...children].map((child) => stopChild(child, children)));
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      interrupted = true;
      process.stderr.write(`\n${signal}: stopping everything\n`);
      void cleanUp().then(() => process.exit(130));
    });
  }

  try {
    let url = process.env.AMQP_URL;
    let brokerPid: string | undefined;
    if (!url) {
      await ensureRabbitmqInstalled((line) => console.error(line));
      const broker = await startThrowawayBroker();
      cleanups.push(() => broker.dispose());
      url = broker.url;
      brokerPid = findBrokerPid();
      console.log(`throwaway RabbitMQ ${url}`);
    } else {
      console.log('RabbitMQ from AMQP_URL');
    }
    const chatApi = await startFakeChatApi();
    cleanups.push(() => chatApi.close());
    const work = mkdtempSync(join(tmpdir(), 'switchboard-bench-'));
    cleanups.push(async () => rmSync(work, { recursive: true, force: true }));
    const flowsDir = join(work, 'flows');
    mkdirSync(flowsDir);
    copyFileSync(ECHO_FLOW, join(flowsDir, 'echo.json'));
    profileDir = values.profile ? mkdtempSync(join(tmpdir(), 'switchboard-bench-profiles-')) : undefined;
    const admin = await connect(url, 'bench admin');
    cleanups.push(async () => {
      await admin.close();
    });

    console.log(
      `events: ${warmup} warm-up, ${events} at full speed, then ${rates.map((rate) => `${rate}/s`).join(', ')} for ${seconds} s; ` +
        `durable ${queueType === 'quorum' ? 'quorum' : 'classic (baseline)'} queues, persistent messages, confirms`,
    );
    const env = { ...process.env, AMQP_URL: url, CHAT_API_URL: chatApi.url, LOG_LEVEL: 'warn' };
    const all: Partial<Record<Target, RunResult[]>> = {};

    if (values.only !== 'baseline') {
      const healthPort = await freePort();
      const engine = startChild(
        'engine',
        [
          ...nodeFlagsFor('engine'),
          CLI,
          'engine',
          '--flows',
          flowsDir,
          '--data-dir',
          join(work, 'engine-data'),
          '--health-port',
          String(healthPort),
        ],
        env,
        children,
      );
      const pack = startChild('pack', [...nodeFlagsFor('pack'), PACK_PROCESS, 'slack'], env, children);
      await waitForConsumer(admin, ENGINE_QUEUE, engine);
      await waitForConsumer(admin, packQueueName('slack'), pack);
      const pids = {
        engine: engine.process.pid,
        pack: pack.process.pid,
        broker: brokerPid,
        bench: process.pid,
      };
      all.switchboard = await runLoad('switchboard', url, pids, env, children, [
        '--engine-metrics',
        `http://127.0.0.1:${healthPort}/metrics`,
      ]);
      printRuns('Switchboard (engine + echo flow + slack pack)', all.switchboard);
      if (values['live-client']) {
        const withLive = await runWithLiveClient(env, children, (extraPids) =>
          runLoad('switchboard', url, { ...pids, ...extraPids }, env, children, [
            '--engine-metrics',
            `http://127.0.0.1:${healthPort}/metrics`,
          ]),
        );
        printRuns(
          'Switchboard with a Live client (a console streaming GET /api/events throughout)',
          withLive.runs,
        );
        printLiveComparison(all.switchboard, withLive.runs, withLive.client);
      }
      // The pack first: its PackStopped event is then consumed by the engine instead of waiting in its queue.
      await stopChild(pack, children);
      await stopChild(engine, children);
    }
    if (values.only !== 'switchboard') {
      const baselineEnv = { ...env, BASELINE_QUEUE_TYPE: queueType };
      await deleteBaselineTopology(admin);
      const engine = startChild(
        'baseline engine',
        [...nodeFlagsFor('baseline-engine'), BASELINE_PROCESS, 'engine'],
        baselineEnv,
        children,
      );
      const pack = startChild(
        'baseline pack',
        [...nodeFlagsFor('baseline-pack'), BASELINE_PROCESS, 'pack'],
        baselineEnv,
        children,
      );
      await waitForConsumer(admin, BASELINE_QUEUES.engine, engine);
      await waitForConsumer(admin, BASELINE_QUEUES.pack, pack);
      const pids = {
        engine: engine.process.pid,
        pack: pack.process.pid,
        broker: brokerPid,
        bench: process.pid,
      };
      all.baseline = await runLoad('baseline', url, pids, env, children);
      printRuns('Baseline (the same chain on plain amqplib)', all.baseline);
      await stopChild(engine, children);
      await stopChild(pack, children);
      await deleteBaselineTopology(admin);
    }

    const switchboard = all.switchboard;
    const baseline = all.baseline;
    if (switchboard && baseline) {
      console.log('\nSwitchboard / baseline');
      const [sbFull, blFull] = [switchboard[0] as RunResult, baseline[0] as RunResult];
      console.log(
        `  throughput            ${(sbFull.perSecond / blFull.perSecond).toFixed(2)}   (${fmt(sbFull.perSecond)} / ${fmt(blFull.perSecond)} events/s)`,
      );
      const sbByResult = sbFull.received / sbFull.seconds;
      const blByResult = blFull.received / blFull.seconds;
      console.log(
        `  ... by last result    ${(sbByResult / blByResult).toFixed(2)}   (${fmt(sbByResult)} / ${fmt(blByResult)} events/s; the engine still had results to complete)`,
      );
      for (let i = 1; i < switchboard.length; i++) {
        const [sb, bl] = [switchboard[i] as RunResult, baseline[i] as RunResult];
        console.log(
          `  p99 at ${sb.label.padEnd(14)} ${(sb.p99 / bl.p99).toFixed(2)}   (${sb.p99.toFixed(1)} / ${bl.p99.toFixed(1)} ms; p50 ${sb.p50.toFixed(1)} / ${bl.p50.toFixed(1)} ms)`,
        );
      }
      for (const name of ['engine', 'pack', 'broker']) {
        const sbCpu = sbFull.cpu[name];
        const blCpu = blFull.cpu[name];
        if (sbCpu === undefined || blCpu === undefined) continue;
        const [sbPerEvent, blPerEvent] = [(sbCpu * 1e6) / sbFull.received, (blCpu * 1e6) / blFull.received];
        console.log(
          `  ${`${name} CPU per event`.padEnd(21)} ${(sbPerEvent / blPerEvent).toFixed(2)}   (${Math.round(sbPerEvent)} / ${Math.round(blPerEvent)} µs, full speed)`,
        );
      }
    }
    console.log(`fake chat API answered ${chatApi.requests} requests`);
    const profiles = profileDir;
    if (profiles) {
      console.log(
        `CPU profiles: ${readdirSync(profiles)
          .map((file) => join(profiles, file))
          .join(' ')}`,
      );
    }
  } catch (error) {
    if (!interrupted) {
      process.exitCode = 1;
      console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    }
  } finally {
    if (!interrupted) await cleanUp();
  }
}

/**
 * Runs `load` while a console (its own process, on the same broker) streams GET /api/events to one client
 * in this process, from before the first event to after the last.
 */
async function runWithLiveClient(
  env: NodeJS.ProcessEnv,
  children: Set<Child>,
  load: (extraPids: Record<string, number | undefined>) => Promise<RunResult[]>,
): Promise<{ runs: RunResult[]; client: LiveClient }> {
  const port = await freePort();
  const consoleChild = startChild(
    'console',
    [...nodeFlagsFor('console'), CONSOLE_PROCESS],
    { ...env, SWITCHBOARD_CONSOLE_PORT: String(port), SWITCHBOARD_CONSOLE_HOST: '127.0.0.1' },
    children,
  );
  try {
    const client = await connectLiveClient(`http://127.0.0.1:${port}`, consoleChild);
    try {
      const runs = await load({ console: consoleChild.process.pid });
      if (client.error) throw new Error(`the Live stream broke during the run: ${client.error.message}`);
      return { runs, client };
    } finally {
      await client.close();
    }
  } finally {
    await stopChild(consoleChild, children);
  }
}

/** The console answers once it consumes the bus and listens; until then its port refuses. */
async function connectLiveClient(consoleUrl: string, child: Child): Promise<LiveClient> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.process.exitCode !== null)
      throw new Error(`${child.name} exited with ${child.process.exitCode}`);
    try {
      return await openLiveClient(consoleUrl);
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`the console did not stream within 30 s`, { cause: error });
      await sleep(100);
    }
  }
}

async function runLoad(
  target: Target,
  url: string,
  pids: Record<string, number | string | undefined>,
  env: NodeJS.ProcessEnv,
  children: Set<Child>,
  extraArgs: string[] = [],
): Promise<RunResult[]> {
  const pidList = Object.entries(pids)
    .filter(([, pid]) => pid !== undefined)
    .map(([name, pid]) => `${name}:${pid}`)
    .join(',');
  const args = [
    SELF,
    '--role',
    'load',
    '--target',
    target,
    '--url',
    url,
    '--pids',
    pidList,
    '--events',
    String(events),
    '--warmup',
    String(warmup),
    '--rate',
    rates.join(','),
    '--seconds',
    String(seconds),
    '--queue-type',
    queueType,
    ...(values.timeline ? ['--timeline'] : []),
    ...extraArgs,
  ];
  const load = startChild(`${target} load`, args, env, children, true);
  let result: RunResult[] | undefined;
  const lines = createInterface({ input: load.process.stdout as NodeJS.ReadableStream });
  lines.on('line', (line) => {
    if (line.startsWith('RESULT ')) result = JSON.parse(line.slice('RESULT '.length)) as RunResult[];
    else console.log(line);
  });
  const code = await load.exited;
  children.delete(load);
  if (code !== 0 || !result) throw new Error(`the ${target} load generator exited with ${code}`);
  return result;
}

function startChild(
  name: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  children: Set<Child>,
  pipeStdout = false,
): Child {
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env,
    stdio: ['ignore', pipeStdout ? 'pipe' : 'inherit', 'pipe'],
  });
  const lines = createInterface({ input: child.stderr as NodeJS.ReadableStream });
  lines.on('line', (line) => process.stderr.write(`[${name}] ${line}\n`));
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  const entry = { name, process: child, exited };
  children.add(entry);
  return entry;
}

/** SIGTERM, then SIGKILL if it has not exited after 30 s. */
async function stopChild(child: Child, children: Set<Child>): Promise<void> {
  if (child.process.exitCode === null && child.process.signalCode === null) {
    child.process.kill('SIGTERM');
    const timer = setTimeout(() => child.process.kill('SIGKILL'), 30_000);
    const code = await child.exited;
    clearTimeout(timer);
    if (code !== 0) process.stderr.write(`${child.name} exited with ${code}\n`);
  }
  children.delete(child);
}

async function waitForConsumer(
  admin: Awaited<ReturnType<typeof connect>>,
  queue: string,
  child: Child,
): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.process.exitCode !== null)
      throw new Error(`${child.name} exited with ${child.process.exitCode}`);
    const channel = await admin.createChannel();
    channel.on('error', () => {});
    try {
      const { consumerCount } = await channel.checkQueue(queue);
      await channel.close();
      if (consumerCount > 0) return;
    } catch {
      // No such queue yet (the 404 closed the channel).
    }
    await sleep(100);
  }
  throw new Error(`nothing consumed ${queue} within 30 s (${child.name} did not start)`);
}

async function deleteBaselineTopology(admin: Awaited<ReturnType<typeof connect>>): Promise<void> {
  const channel = await admin.createChannel();
  await channel.deleteQueue(BASELINE_QUEUES.engine);
  await channel.deleteQueue(BASELINE_QUEUES.pack);
  await channel.deleteExchange(BASELINE_EVENTS);
  await channel.deleteExchange(BASELINE_COMMANDS);
  await channel.close();
}

/** The Erlang VM of the throwaway broker (a descendant of this process), to report its CPU use. */
function findBrokerPid(): string | undefined {
  const parentOf = (pid: string): string | undefined => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1];
    } catch {
      return undefined;
    }
  };
  const mine = String(process.pid);
  for (const pid of readdirSync('/proc').filter((entry) => /^\d+$/.test(entry))) {
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('beam')) continue;
    } catch {
      continue;
    }
    for (let ancestor = parentOf(pid); ancestor && ancestor !== '0'; ancestor = parentOf(ancestor)) {
      if (ancestor === mine) return pid;
    }
  }
  return undefined;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function fmt(perSecond: number): string {
  return Math.round(perSecond).toLocaleString('en-US');
}

/** Switchboard's figures with the Live client beside those without it. */
function printLiveComparison(without: RunResult[], withLive: RunResult[], client: LiveClient): void {
  console.log('\nSwitchboard with a Live client / without');
  const [full, fullLive] = [without[0] as RunResult, withLive[0] as RunResult];
  console.log(
    `  throughput            ${(fullLive.perSecond / full.perSecond).toFixed(2)}   (${fmt(fullLive.perSecond)} / ${fmt(full.perSecond)} events/s, full speed)`,
  );
  for (let i = 1; i < without.length && i < withLive.length; i++) {
    const [run, runLive] = [without[i] as RunResult, withLive[i] as RunResult];
    console.log(
      `  p99 at ${run.label.padEnd(14)} ${(runLive.p99 / run.p99).toFixed(2)}   (${runLive.p99.toFixed(1)} / ${run.p99.toFixed(1)} ms; p50 ${runLive.p50.toFixed(1)} / ${run.p50.toFixed(1)} ms)`,
    );
  }
  const consoleCpu = fullLive.cpu.console;
  if (consoleCpu !== undefined) {
    console.log(
      `  console CPU per event ${Math.round((consoleCpu * 1e6) / Math.max(1, fullLive.received))} µs (full speed; it sees each event's command and result too)`,
    );
  }
  // The stream is open from before the warm-up: each event, its command and its result pass by.
  const events = warmup + withLive.reduce((sum, run) => sum + run.events, 0);
  console.log(
    `  the Live client received ${fmt(client.messages)} messages for ${fmt(events)} events, warm-up included` +
      `${client.dropped > 0 ? `; the console dropped ${fmt(client.dropped)} for it` : '; none dropped'}`,
  );
}

function printRuns(title: string, runs: RunResult[]): void {
  console.log(`\n${title}`);
  for (const run of runs) {
    const lost = run.events - run.received;
    const done =
      run.drainedSeconds > run.seconds + 0.0005
        ? `last result ${run.seconds.toFixed(2)} s, engine done ${run.drainedSeconds.toFixed(2)} s`
        : `last result ${run.seconds.toFixed(2)} s`;
    const byLastResult =
      run.drainedSeconds > run.seconds + 0.0005 ? ` (${fmt(run.received / run.seconds)} by last result)` : '';
    console.log(
      `  ${run.label.padEnd(10)} ${String(run.events).padStart(6)} events, ${done}: ${fmt(run.perSecond)} events/s${byLastResult}`,
    );
    console.log(
      `  ${''.padEnd(10)} latency p50 ${run.p50.toFixed(1)}  p95 ${run.p95.toFixed(1)}  p99 ${run.p99.toFixed(1)}  max ${run.max.toFixed(1)} ms` +
        (lost > 0 ? `  LOST ${lost}` : '') +
        (run.unmatched > 0 ? `  unmatched ${run.unmatched}` : ''),
    );
    const { machine, ...processes } = run.cpu;
    const perEvent = Object.entries(processes)
      .map(([name, cpuSeconds]) => `${name} ${Math.round((cpuSeconds * 1e6) / Math.max(1, run.received))}`)
      .join(', ');
    if (perEvent) console.log(`  ${''.padEnd(10)} CPU µs per event: ${perEvent}`);
    if (machine !== undefined) {
      const ours = Object.values(processes).reduce((sum, cpuSeconds) => sum + cpuSeconds, 0);
      const percent = (cpuSeconds: number) => `${Math.round((cpuSeconds / run.drainedSeconds) * 100)}%`;
      console.log(
        `  ${''.padEnd(10)} machine busy ${percent(machine)} of ${availableParallelism() * 100}% ` +
          `(these processes ${percent(ours)}, others ${percent(Math.max(0, machine - ours))})`,
      );
    }
  }
}
