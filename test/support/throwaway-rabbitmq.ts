import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  accessSync,
  closeSync,
  constants,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { type AddressInfo, createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, delimiter, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { installDebianPackage } from './debian-packages.ts';

// A private RabbitMQ node for tests: random loopback ports, its own temp dir, no plugins.
export interface ThrowawayBroker {
  /** amqp://guest:guest@127.0.0.1:<port> (guest may log in over loopback) */
  readonly url: string;
  readonly nodeName: string;
  /** Clean shutdown (SIGTERM); keeps the data dir. Idempotent. */
  stop(): Promise<void>;
  /** Starts again on the same ports and data dir, so durable queues and persistent messages survive.
   * Resolves once the node is fully booted and accepts AMQP connections. */
  start(): Promise<void>;
  /** stop() + start() */
  restart(): Promise<void>;
  /** SIGKILLs the Erlang VM to simulate a crash; keeps the data dir. Flushes RabbitMQ 3.10's quorum queue
   * name registry first (see SYNC_RA_NAME_REGISTRY), which takes about half a second. */
  kill(): Promise<void>;
  /** Kills the node and deletes its temp dir. Idempotent; the broker cannot be started again. */
  dispose(): Promise<void>;
  /**
   * Runs rabbitmqctl against this node and resolves with its output, e.g.
   * `ctl(['set_vm_memory_high_watermark', '0'])` (a memory alarm: publishers are blocked) or
   * `ctl(['close_all_connections', 'test'])`. Rejects with rabbitmqctl's message when it fails.
   * Default timeout: 30 000 ms.
   */
  ctl(args: string[], options?: { timeoutMs?: number }): Promise<string>;
}

type Log = (line: string) => void;

const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 30_000;
const CTL_TIMEOUT_MS = 30_000;
const PROBE_INTERVAL_MS = 200;
const LOG_TAIL_LINES = 40;
const FIRST_ERROR_LINES = 15;
const AMQP_0_9_1_HEADER = Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]);
const AMQP_METHOD_FRAME = 1;

const SERVER_CANDIDATES = [
  '/usr/lib/rabbitmq/bin/rabbitmq-server', // Debian/Ubuntu/RPM packages
  '/opt/homebrew/sbin/rabbitmq-server',
  '/usr/local/sbin/rabbitmq-server',
];

const INSTALL_HINT =
  'Install it with `sudo apt-get install rabbitmq-server` (the tests start their own throwaway node, ' +
  'no system service needed), or set AMQP_URL to an existing broker, e.g. AMQP_URL=amqp://guest:guest@127.0.0.1:5672';

const RABBITMQ_CONF = `# Throwaway test node, see test/support/throwaway-rabbitmq.ts
# A nearly full disk must not block publishers in tests.
disk_free_limit.absolute = 50MB
# The file log is kept; stdout only has to catch what happens before logging is configured.
log.console = false
`;

// Ra 2.2 (in RabbitMQ 3.10) writes its quorum queue name registry, names.dets, to disk only every 500 ms
// (fixed upstream in rabbitmq/ra#443). A quorum queue declared just before a crash then comes back as a
// new, empty member that never elects a leader, so every operation on it times out.
const SYNC_RA_NAME_REGISTRY =
  '[dets:sync(T) || T <- dets:all(), is_atom(T), lists:suffix("directory_reverse", atom_to_list(T))], ok.';

const execFileAsync = promisify(execFile);

export function findRabbitmqServer(): string | undefined {
  const onPath = (process.env.PATH ?? '')
    .split(delimiter)
    .filter(Boolean)
    .map((dir) => join(dir, 'rabbitmq-server'));
  return [...SERVER_CANDIDATES, ...onPath].find(isDirectServerScript);
}

// Debian's /usr/sbin/rabbitmq-server links to rabbitmq-script-wrapper, which re-executes as the rabbitmq
// user and would ignore our environment; only the real script runs the node as us.
function isDirectServerScript(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return basename(realpathSync(path)) === 'rabbitmq-server';
  } catch {
    return false;
  }
}

export async function ensureRabbitmqInstalled(log: Log): Promise<void> {
  if (findRabbitmqServer()) return;
  await installDebianPackage('rabbitmq-server', log, INSTALL_HINT);
  if (!findRabbitmqServer()) {
    throw new Error(
      `apt-get installed rabbitmq-server but no usable rabbitmq-server script was found. ${INSTALL_HINT}`,
    );
  }
}

export async function startThrowawayBroker(options: { log?: Log } = {}): Promise<ThrowawayBroker> {
  const server = findRabbitmqServer();
  if (!server) throw new Error(`RabbitMQ server is not installed. ${INSTALL_HINT}`);
  const [amqpPort, distPort] = await freePorts(2);
  if (amqpPort === undefined || distPort === undefined) throw new Error('could not reserve free ports');
  const broker = new Broker(server, createLayout(amqpPort, distPort), options.log ?? (() => {}));
  try {
    await broker.start();
  } catch (error) {
    await broker.dispose();
    throw error;
  }
  return broker;
}

// All ports are held open together so the same one cannot be handed out twice.
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: count }, listenOnRandomPort));
  const ports = servers.map((server) => (server.address() as AddressInfo).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

function listenOnRandomPort(): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

interface Layout {
  readonly dir: string;
  readonly nodeName: string;
  readonly amqpPort: number;
  readonly stdoutFile: string;
  readonly logFile: string;
  readonly env: NodeJS.ProcessEnv;
}

function createLayout(amqpPort: number, distPort: number): Layout {
  const dir = mkdtempSync(join(tmpdir(), 'sbtest-rabbitmq-'));
  const nodeName = `sbtest-${randomBytes(6).toString('hex')}@localhost`;
  const paths = {
    mnesia: join(dir, 'mnesia'),
    logs: join(dir, 'log'),
    config: join(dir, 'rabbitmq.conf'),
    envConf: join(dir, 'rabbitmq-env.conf'),
    plugins: join(dir, 'enabled_plugins'),
  };
  mkdirSync(paths.mnesia);
  mkdirSync(paths.logs);
  writeFileSync(paths.config, RABBITMQ_CONF);
  writeFileSync(paths.envConf, '');
  writeFileSync(paths.plugins, '[].\n');
  // Server and CLI find the cookie through HOME; Erlang refuses cookies readable by others.
  writeFileSync(join(dir, '.erlang.cookie'), randomBytes(16).toString('hex').toUpperCase(), { mode: 0o400 });
  const env: NodeJS.ProcessEnv = {
    ...withoutRabbitmqVariables(process.env),
    ...utf8Locale(process.env),
    HOME: dir,
    ERL_EPMD_ADDRESS: '127.0.0.1',
    // A failed boot is reported from the logs, and the directory is deleted anyway.
    ERL_CRASH_DUMP_SECONDS: '0',
    RABBITMQ_NODENAME: nodeName,
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODE_PORT: String(amqpPort),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}',
    RABBITMQ_MNESIA_BASE: paths.mnesia,
    RABBITMQ_LOG_BASE: paths.logs,
    RABBITMQ_CONFIG_FILE: paths.config,
    // Point these at files we own so /etc/rabbitmq never leaks into the test node.
    RABBITMQ_CONF_ENV_FILE: paths.envConf,
    RABBITMQ_ADVANCED_CONFIG_FILE: join(dir, 'advanced.config'),
    RABBITMQ_ENABLED_PLUGINS_FILE: paths.plugins,
    RABBITMQ_PID_FILE: join(dir, 'rabbitmq.pid'),
  };
  return {
    dir,
    nodeName,
    amqpPort,
    stdoutFile: join(dir, 'stdout.log'),
    logFile: join(paths.logs, `${nodeName}.log`),
    env,
  };
}

function withoutRabbitmqVariables(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !name.startsWith('RABBITMQ_')));
}

// The Elixir CLI warns (and mangles non-ASCII) under a latin1 locale.
function utf8Locale(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const current = env.LC_ALL || env.LC_CTYPE || env.LANG || '';
  return /utf-?8/i.test(current) ? {} : { LC_ALL: 'C.UTF-8' };
}

class Broker implements ThrowawayBroker {
  readonly url: string;
  readonly nodeName: string;
  readonly #server: string;
  readonly #ctl: string;
  readonly #layout: Layout;
  readonly #log: Log;
  #process: BrokerProcess | undefined;
  #disposed = false;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(server: string, layout: Layout, log: Log) {
    this.#server = server;
    this.#ctl = join(dirname(server), 'rabbitmqctl');
    this.#layout = layout;
    this.#log = log;
    this.url = `amqp://guest:guest@127.0.0.1:${layout.amqpPort}`;
    this.nodeName = layout.nodeName;
    undisposed.add(this);
  }

  start(): Promise<void> {
    return this.#serialized(() => this.#start());
  }

  stop(): Promise<void> {
    return this.#serialized(() => this.#stop());
  }

  restart(): Promise<void> {
    return this.#serialized(async () => {
      await this.#stop();
      await this.#start();
    });
  }

  kill(): Promise<void> {
    return this.#serialized(async () => {
      await this.#syncQuorumQueueRegistry();
      await this.#kill();
    });
  }

  dispose(): Promise<void> {
    return this.#serialized(() => this.#dispose());
  }

  // Not serialized with the lifecycle calls: a test may alarm or disconnect the node while a restart waits.
  ctl(args: string[], options: { timeoutMs?: number } = {}): Promise<string> {
    if (this.#disposed) return Promise.reject(new Error(`RabbitMQ node ${this.nodeName} has been disposed`));
    return rabbitmqctl(this.#ctl, this.#layout, args, options.timeoutMs ?? CTL_TIMEOUT_MS);
  }

  // Synchronous last resort for process 'exit'.
  abandon(): void {
    this.#process?.killGroup();
    rmSync(this.#layout.dir, { recursive: true, force: true });
  }

  // Lifecycle calls may overlap (e.g. an after() hook while a restart is running); run them in order.
  #serialized(operation: () => Promise<void>): Promise<void> {
    const result = this.#queue.then(operation);
    this.#queue = result.catch(() => {});
    return result;
  }

  async #start(): Promise<void> {
    if (this.#disposed) throw new Error(`RabbitMQ node ${this.nodeName} has been disposed`);
    if (this.#process?.alive) return;
    const began = Date.now();
    this.#log(
      `starting RabbitMQ node ${this.nodeName} on port ${this.#layout.amqpPort} in ${this.#layout.dir}`,
    );
    const node = new BrokerProcess(this.#server, this.#layout);
    this.#process = node;
    try {
      await waitUntilBooted(node, this.#layout, this.#ctl, began + START_TIMEOUT_MS);
    } catch (error) {
      node.killGroup();
      await node.waitForExit();
      throw new Error(`${(error as Error).message}\n${node.describeOutput()}`, { cause: error });
    }
    this.#log(`RabbitMQ node ${this.nodeName} ready after ${Date.now() - began} ms`);
  }

  async #stop(): Promise<void> {
    const node = this.#process;
    if (!node?.alive) return;
    const began = Date.now();
    node.terminate();
    if (!(await node.waitForExit(STOP_TIMEOUT_MS))) {
      this.#log(`RabbitMQ node ${this.nodeName} ignored SIGTERM for ${STOP_TIMEOUT_MS} ms; killing it`);
      await this.#kill();
    }
    this.#log(`RabbitMQ node ${this.nodeName} stopped after ${Date.now() - began} ms`);
  }

  // A real crash rarely lands within 500 ms of a declaration; a test that crashes the node right after
  // declaring its queues always would, and would be testing that Ra bug instead of our code.
  async #syncQuorumQueueRegistry(): Promise<void> {
    if (!this.#process?.alive) return;
    try {
      await rabbitmqctl(this.#ctl, this.#layout, ['eval', SYNC_RA_NAME_REGISTRY], 10_000);
    } catch (error) {
      this.#log(`could not sync the quorum queue registry before kill: ${(error as Error).message}`);
    }
  }

  async #kill(): Promise<void> {
    const node = this.#process;
    if (!node?.alive) return;
    node.killGroup();
    await node.waitForExit();
  }

  // The data is deleted right after, so a graceful shutdown would only cost time.
  async #dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    await this.#kill();
    rmSync(this.#layout.dir, { recursive: true, force: true });
    undisposed.delete(this);
  }
}

const undisposed = new Set<Broker>();

process.on('exit', () => {
  for (const broker of undisposed) broker.abandon();
});

// One spawn of the rabbitmq-server script. The script runs the Erlang VM as its child and turns SIGTERM
// into a clean shutdown; it gets its own process group so kill() can SIGKILL the VM along with it.
class BrokerProcess {
  readonly #child: ChildProcess;
  readonly #exited: Promise<void>;
  readonly #layout: Layout;
  readonly #outputOffsets: readonly [number, number];
  #watchdog: ChildProcess | undefined;
  #exitDescription: string | undefined;

  constructor(server: string, layout: Layout) {
    this.#layout = layout;
    this.#outputOffsets = [fileSize(layout.stdoutFile), fileSize(layout.logFile)];
    const output = openSync(layout.stdoutFile, 'a');
    try {
      this.#child = spawn(server, [], {
        cwd: layout.dir,
        env: layout.env,
        detached: true,
        stdio: ['ignore', output, output],
      });
    } finally {
      closeSync(output);
    }
    this.#exited = new Promise((resolve) => {
      this.#child.once('exit', (code, signal) => this.#onExit(signal ?? `exit code ${code}`, resolve));
      // Also emitted when a signal cannot be delivered; only a failed spawn means there is no process.
      this.#child.on('error', (error) => {
        if (this.#child.pid === undefined) this.#onExit(error.message, resolve);
      });
    });
    // A forgotten dispose() must not keep the test process alive; the 'exit' hook cleans up instead.
    this.#child.unref();
    if (this.#child.pid !== undefined) this.#watchdog = startWatchdog(this.#child.pid, layout.dir);
  }

  get alive(): boolean {
    return this.#exitDescription === undefined;
  }

  get exitDescription(): string {
    return this.#exitDescription ?? 'still running';
  }

  terminate(): void {
    if (this.alive) this.#child.kill('SIGTERM');
  }

  killGroup(): void {
    if (this.alive && this.#child.pid !== undefined) signalGroup(this.#child.pid, 'SIGKILL');
  }

  // Resolves false on timeout. Holds the event loop open meanwhile, since the child itself is unref'd.
  async waitForExit(timeoutMs = STOP_TIMEOUT_MS): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(resolve, timeoutMs, false);
    });
    try {
      return await Promise.race([this.#exited.then(() => true), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  // What this run wrote to stdout and the node log: the first error lines usually name the cause,
  // the tail shows how far boot got.
  describeOutput(): string {
    const [stdoutOffset, logOffset] = this.#outputOffsets;
    return [excerpt(this.#layout.stdoutFile, stdoutOffset), excerpt(this.#layout.logFile, logOffset)].join(
      '\n',
    );
  }

  #onExit(description: string, resolve: () => void): void {
    this.#exitDescription = description;
    this.#watchdog?.kill('SIGKILL');
    // Sweep up the VM in case only the wrapper script died.
    if (this.#child.pid !== undefined) signalGroup(this.#child.pid, 'SIGKILL');
    resolve();
  }
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // Group already gone.
  }
}

// 'exit' handlers do not run when the test process dies from SIGKILL or an unhandled SIGINT/SIGTERM. The
// watchdog's stdin is a pipe from us: when we die it reads EOF, kills the broker and deletes its files.
// It is detached so that a terminal's Ctrl-C does not take it down before it has done that.
function startWatchdog(pgid: number, dir: string): ChildProcess {
  const script = 'read _; kill -s KILL -- "-$1" 2>/dev/null; rm -rf -- "$2"';
  const watchdog = spawn('/bin/sh', ['-c', script, 'sbtest-rabbitmq-watchdog', String(pgid), dir], {
    detached: true,
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  watchdog.on('error', () => {});
  watchdog.unref();
  (watchdog.stdin as unknown as Socket).unref();
  return watchdog;
}

async function waitUntilBooted(
  node: BrokerProcess,
  layout: Layout,
  ctl: string,
  deadline: number,
): Promise<void> {
  while (!(await speaksAmqp(layout.amqpPort))) {
    if (!node.alive)
      throw new Error(`RabbitMQ node ${layout.nodeName} exited during startup (${node.exitDescription})`);
    if (Date.now() > deadline) {
      throw new Error(
        `RabbitMQ node ${layout.nodeName} did not accept AMQP connections within ${START_TIMEOUT_MS} ms`,
      );
    }
    await sleep(PROBE_INTERVAL_MS);
  }
  // The listener opens a little before the last boot steps finish; await_startup waits for those. The CLI
  // enforces --timeout itself, the process timeout only guards against a hung CLI.
  const seconds = Math.max(1, Math.ceil((deadline - Date.now()) / 1000));
  await rabbitmqctl(ctl, layout, ['await_startup', '--timeout', String(seconds)], seconds * 1000 + 5000);
}

// True once the port answers an AMQP 0-9-1 protocol header with a method frame (connection.start).
function speaksAmqp(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host: '127.0.0.1', port });
    const finish = (answer: boolean): void => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(2000, () => finish(false));
    socket.once('connect', () => socket.write(AMQP_0_9_1_HEADER));
    socket.once('data', (chunk: Buffer) => finish(chunk[0] === AMQP_METHOD_FRAME));
    socket.once('error', () => finish(false));
    socket.once('close', () => finish(false));
  });
}

async function rabbitmqctl(ctl: string, layout: Layout, args: string[], timeoutMs: number): Promise<string> {
  try {
    const options = { env: layout.env, timeout: timeoutMs };
    const { stdout } = await execFileAsync(ctl, ['-n', layout.nodeName, '-q', ...args], options);
    return stdout;
  } catch (error) {
    const { stdout = '', stderr = '', message } = error as Error & { stdout?: string; stderr?: string };
    throw new Error(`rabbitmqctl ${args.join(' ')} failed: ${`${stderr}\n${stdout}`.trim() || message}`);
  }
}

function fileSize(file: string): number {
  return existsSync(file) ? statSync(file).size : 0;
}

function excerpt(file: string, offset: number): string {
  if (!existsSync(file)) return `--- ${file}: not written ---`;
  const lines = readFileSync(file).subarray(offset).toString('utf8').trimEnd().split('\n');
  const errors = lines.filter((line) => /\[(error|critical|alert|emergency)\]/.test(line));
  return [
    ...(errors.length > 0
      ? [`--- first error lines of ${file} ---`, ...errors.slice(0, FIRST_ERROR_LINES)]
      : []),
    `--- last lines of ${file} ---`,
    ...lines.slice(-LOG_TAIL_LINES),
  ].join('\n');
}
