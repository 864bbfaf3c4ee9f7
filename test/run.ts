// `npm test`: node test/run.ts [extra node --test args...]
// Provides a RabbitMQ broker (AMQP_URL if set, otherwise a throwaway node) and runs node --test against it.
import { type ChildProcess, spawn } from 'node:child_process';
import { globSync } from 'node:fs';
import { constants } from 'node:os';
import { resolve } from 'node:path';
import { ensureRabbitmqInstalled, startThrowawayBroker } from './support/throwaway-rabbitmq.ts';

const ROOT = resolve(import.meta.dirname, '..');
const DEFAULT_PATTERN = 'test/**/*.test.ts';
// --test-force-exit: one leaked handle (an amqplib heartbeat after a broker died) must not hang the whole run.
const NODE_TEST_ARGS = ['--test', '--test-timeout=120000', '--test-concurrency=2', '--test-force-exit'];
// node --test options whose value may come as the next argument; anything else not starting with '-'
// names test files or patterns.
const OPTIONS_WITH_VALUE = new Set([
  '--test-name-pattern',
  '--test-skip-pattern',
  '--test-reporter',
  '--test-reporter-destination',
  '--test-concurrency',
  '--test-timeout',
  '--test-shard',
  '--test-isolation',
  '--test-coverage-include',
  '--test-coverage-exclude',
  '--test-global-setup',
  '--import',
  '--require',
  '-r',
  '--conditions',
  '-C',
  '--env-file',
]);

interface TestBroker {
  readonly url: string;
  readonly kind: 'throwaway' | 'external';
  dispose(): Promise<void>;
}

let child: ChildProcess | undefined;
let interruptedBy: NodeJS.Signals | undefined;

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    interruptedBy ??= signal;
    child?.kill(signal);
  });
}

process.exitCode = await main(process.argv.slice(2));

async function main(extraArgs: string[]): Promise<number> {
  const { options, files } = splitArgs(extraArgs);
  const testFiles = files.length > 0 ? files : findTestFiles();
  if (testFiles.length === 0) {
    console.error(`No test files match ${DEFAULT_PATTERN}.`);
    return 1;
  }
  let broker: TestBroker;
  try {
    broker = await provideBroker();
  } catch (error) {
    console.error(`Cannot provide a RabbitMQ broker for the tests:\n${(error as Error).message}`);
    return 1;
  }
  try {
    if (interruptedBy) return exitCodeForSignal(interruptedBy);
    return await runNodeTest([...NODE_TEST_ARGS, ...options, ...testFiles], broker);
  } finally {
    await broker.dispose();
  }
}

function splitArgs(args: string[]): { options: string[]; files: string[] } {
  const options: string[] = [];
  const files: string[] = [];
  args.forEach((arg, index) => {
    const previous = args[index - 1];
    const isOptionValue = previous !== undefined && OPTIONS_WITH_VALUE.has(previous);
    if (arg.startsWith('-') || isOptionValue) options.push(arg);
    else files.push(arg);
  });
  return { options, files };
}

function findTestFiles(): string[] {
  return globSync(DEFAULT_PATTERN, { cwd: ROOT }).sort();
}

async function provideBroker(): Promise<TestBroker> {
  const external = process.env.AMQP_URL;
  if (external) {
    console.log(`Using the external RabbitMQ broker from AMQP_URL: ${redact(external)}`);
    return { url: external, kind: 'external', dispose: async () => {} };
  }
  await ensureRabbitmqInstalled((line) => console.error(`[rabbitmq install] ${line}`));
  const began = Date.now();
  const broker = await startThrowawayBroker();
  console.log(
    `Started throwaway RabbitMQ at ${broker.url} (node ${broker.nodeName}, ${Date.now() - began} ms); ` +
      'set AMQP_URL to use another broker.',
  );
  return { url: broker.url, kind: 'throwaway', dispose: () => broker.dispose() };
}

function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable URL)';
  }
}

function runNodeTest(args: string[], broker: TestBroker): Promise<number> {
  const env = { ...process.env, AMQP_URL: broker.url, SWITCHBOARD_TEST_BROKER: broker.kind };
  return new Promise((resolveExit) => {
    child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: 'inherit' });
    child.once('error', (error) => {
      console.error(`Could not run node --test: ${error.message}`);
      resolveExit(1);
    });
    child.once('exit', (code, signal) => resolveExit(code ?? exitCodeForSignal(signal ?? 'SIGTERM')));
  });
}

function exitCodeForSignal(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 0);
}
