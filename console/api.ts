import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendError, sendJson } from './http-guard.ts';
import type { PackDirectory } from './pack-directory.ts';

export interface ApiSources {
  packs: PackDirectory;
}

/** Answers one request under /api/ (documented in docs/console.md). */
export function handleApi(
  request: IncomingMessage,
  response: ServerResponse,
  path: string,
  sources: ApiSources,
): void {
  if (path === '/api/packs') {
    if (request.method !== 'GET' && request.method !== 'HEAD') methodNotAllowed(response, 'GET');
    else sendJson(response, 200, { packs: sources.packs.list() });
    return;
  }
  sendError(response, { status: 404, code: 'not_found', message: `no API at ${path}` });
}

function methodNotAllowed(response: ServerResponse, allowed: string): void {
  response.setHeader('Allow', allowed);
  sendError(response, { status: 405, code: 'method_not_allowed', message: `use ${allowed}` });
}
