import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Bus } from '../shared/bus/bus.ts';
import type { Logger } from '../shared/observability/logger.ts';
import { BusTap } from './bus-tap.ts';
import type { ConsoleConfig } from './console-config.ts';
import type { EngineView } from './engine-view.ts';
import { CONSOLE_FEATURES } from './features.ts';
import { type ConsoleAuth, guardRequest, SECURITY_HEADERS, sendError } from './http-guard.ts';
import { Login, PUBLIC_PATHS } from './login.ts';
import { PackDirectory } from './pack-directory.ts';
import { type ProcessSetting, showSetting } from './process-settings.ts';
import { type ConsoleFeature, type ConsoleSources, routeApi } from './routes.ts';
import { Sessions, sessionIdOf } from './sessions.ts';
import { loadStaticFiles, sendStatic } from './static-files.ts';

export interface RunningConsole {
  /** http://<host>:<port>, with the port actually bound (SWITCHBOARD_CONSOLE_PORT=0 picks one). */
  readonly url: string;
  /** Stops listening, drops open connections and stops consuming the bus. Idempotent. */
  close(): Promise<void>;
}

/** Serves the web console (pages and /api/) from what it reads on `bus`; see docs/console.md. */
export async function startConsole(options: {
  bus: Bus;
  logger: Logger;
  config: ConsoleConfig;
  /** The engine running in this process, when there is one: Flows, Executions and Try read it. */
  engine?: EngineView | undefined;
  /** The variables the process reads, shown redacted under This process on the Overview. Default: none. */
  settings?: readonly ProcessSetting[] | undefined;
}): Promise<RunningConsole> {
  const { bus, config } = options;
  const logger = options.logger.child({ component: 'console' });
  const files = loadStaticFiles();
  // Consuming before listening: the first page already shows what started meanwhile.
  const features: ConsoleFeature[] = [];
  const stopFeatures = async () => {
    await Promise.all(features.map((feature) => feature.stop?.()));
    await tap?.stop();
    await packs?.stop();
  };
  let packs: PackDirectory | undefined;
  let tap: BusTap | undefined;
  try {
    packs = await PackDirectory.start(bus, logger);
    tap = await BusTap.start(bus, logger);
    const sources: ConsoleSources = {
      bus,
      logger,
      packs,
      tap,
      engine: options.engine,
      settings: (options.settings ?? []).map(showSetting),
    };
    for (const factory of CONSOLE_FEATURES) features.push(await factory(sources));
  } catch (error) {
    await stopFeatures();
    throw error;
  }
  const routes = features.flatMap((feature) => feature.routes);
  const sessions = new Sessions();
  const login = config.token === undefined ? undefined : new Login(config.token, sessions);
  const auth: ConsoleAuth = {
    token: config.token,
    isSession: (id) => sessions.isValid(id),
    sessionIdOf: (request) => sessionIdOf(request.headers.cookie),
  };

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      logger.error({ reason: (error as Error).message, path: request.url }, 'console request failed');
      if (!response.headersSent) {
        sendError(response, { status: 500, code: 'internal', message: 'the console failed; see its log' });
      } else response.destroy();
    });
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) response.setHeader(name, value);
    const url = new URL(request.url ?? '/', 'http://console');
    const path = url.pathname;
    const open = login !== undefined && PUBLIC_PATHS.has(path);
    const refusal = guardRequest(request, open ? { ...auth, token: undefined } : auth);
    if (refusal) {
      // Unread bodies would keep the connection busy; closing is cheaper than draining up to any size.
      if (refusal.status === 413) response.setHeader('Connection', 'close');
      if (refusal.status === 401 && wantsPage(request, path)) {
        response.writeHead(303, { Location: `/login?next=${encodeURIComponent(path + url.search)}` });
        response.end();
      } else sendError(response, refusal);
      return;
    }
    if (login && (await login.handle(request, response, url))) return;
    const file = files.get(path);
    if (path.startsWith('/api/')) await routeApi(routes, request, response, url);
    else if (file && (request.method === 'GET' || request.method === 'HEAD')) sendStatic(response, file);
    else sendError(response, { status: 404, code: 'not_found', message: `nothing at ${path}` });
  }

  /** A browser asking for a page (not a script, not the API) is sent to the login form instead of a 401. */
  function wantsPage(request: IncomingMessage, path: string): boolean {
    return (
      request.method === 'GET' &&
      !path.startsWith('/api/') &&
      (request.headers.accept ?? '').includes('text/html')
    );
  }

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    await stopFeatures();
    throw new Error(
      `the console cannot listen on ${config.host}:${config.port}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  const { port } = server.address() as AddressInfo;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `http://${host}:${port}`;
  logger.info({ url, token: config.token ? 'required' : 'none' }, 'console listening');

  let closing: Promise<void> | undefined;
  return {
    url,
    close() {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        // Features first: Live ends its streams, so a client sees the server stop rather than a cut.
        await Promise.all(features.map((feature) => feature.stop?.()));
        server.closeAllConnections();
        await closed;
        await tap?.stop();
        await packs?.stop();
      })();
      return closing;
    },
  };
}
