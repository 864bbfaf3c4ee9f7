import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Bus } from '../shared/bus/bus.ts';
import type { Logger } from '../shared/observability/logger.ts';
import type { BusTap } from './bus-tap.ts';
import type { EngineView } from './engine-view.ts';
import { isRefusal, readJsonBody, sendError } from './http-guard.ts';
import type { PackDirectory } from './pack-directory.ts';
import type { ShownSetting } from './process-settings.ts';

/** What every part of the console reads from: the bus, what passes on it, and the engine when it runs here. */
export interface ConsoleSources {
  bus: Bus;
  logger: Logger;
  /** Every pack instance seen (PackStarted, PackAlive, PackStopped). */
  packs: PackDirectory;
  /** Every event and command that passes on the bus, fanned out to whoever subscribes. */
  tap: BusTap;
  /** The engine of this process; undefined when this process runs none (no flows directory). */
  engine: EngineView | undefined;
  /** The variables of this process, already redacted (never a secret's value). */
  settings: readonly ShownSetting[];
}

/** One API request, already past the guard (token, Origin, body size). */
export interface ApiRequest {
  readonly request: IncomingMessage;
  readonly response: ServerResponse;
  readonly url: URL;
  /** The `:name` segments of the route's path. */
  readonly params: Readonly<Record<string, string>>;
  /** The body as JSON; rejects with an HttpProblem (400 invalid_json, 415) the router answers. */
  json(): Promise<unknown>;
}

export interface ConsoleRoute {
  method: 'GET' | 'POST' | 'DELETE';
  /** `/api/executions/:correlationId`: literal segments, and `:name` matching one non-empty segment. */
  path: string;
  handle(request: ApiRequest): void | Promise<void>;
}

/** One page's server side: its API routes, and what it must stop when the console closes. */
export interface ConsoleFeature {
  routes: ConsoleRoute[];
  stop?(): Promise<void>;
}

export type FeatureFactory = (sources: ConsoleSources) => ConsoleFeature | Promise<ConsoleFeature>;

/** Finds the route for a method and path; `allowed` lists the methods of routes with that path otherwise. */
export function matchRoute(
  routes: readonly ConsoleRoute[],
  method: string,
  path: string,
): { route: ConsoleRoute; params: Record<string, string> } | { allowed: string[] } {
  const allowed: string[] = [];
  const segments = path.split('/');
  for (const route of routes) {
    const params = matchPath(route.path.split('/'), segments);
    if (!params) continue;
    if (route.method === method || (method === 'HEAD' && route.method === 'GET')) return { route, params };
    allowed.push(route.method);
  }
  return { allowed };
}

function matchPath(pattern: string[], segments: string[]): Record<string, string> | undefined {
  if (pattern.length !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (const [index, part] of pattern.entries()) {
    const segment = segments[index] as string;
    if (part.startsWith(':')) {
      if (segment === '') return undefined;
      try {
        params[part.slice(1)] = decodeURIComponent(segment);
      } catch {
        return undefined;
      }
    } else if (part !== segment) return undefined;
  }
  return params;
}

/** Answers one request under /api/ from the features' routes. */
export async function routeApi(
  routes: readonly ConsoleRoute[],
  request: IncomingMessage,
  response: ServerResponse,
  url: URL,
): Promise<void> {
  const found = matchRoute(routes, request.method ?? 'GET', url.pathname);
  if ('allowed' in found) {
    if (found.allowed.length === 0) {
      sendError(response, { status: 404, code: 'not_found', message: `no API at ${url.pathname}` });
      return;
    }
    response.setHeader('Allow', found.allowed.join(', '));
    sendError(response, {
      status: 405,
      code: 'method_not_allowed',
      message: `use ${found.allowed.join(' or ')}`,
    });
    return;
  }
  try {
    await found.route.handle({
      request,
      response,
      url,
      params: found.params,
      json: () => readJsonBody(request),
    });
  } catch (error) {
    if (!isRefusal(error)) throw error;
    if (response.headersSent) response.destroy();
    else {
      if (error.status === 413) response.setHeader('Connection', 'close');
      sendError(response, error);
    }
  }
}
