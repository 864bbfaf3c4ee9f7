import { readdirSync, readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const STATIC_DIR = join(import.meta.dirname, 'static');

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/**
 * The browser libraries, ESM builds served straight from node_modules (no build step). Only these files:
 * each name maps to one resolved path, so no URL can reach anything else.
 */
const VENDOR_MODULES: Readonly<Record<string, string>> = {
  '/vendor/preact.mjs': 'preact',
  '/vendor/htm.mjs': 'htm',
};

interface StaticFile {
  body: Buffer;
  contentType: string;
}

/** Every file the console serves besides the API, read once at start; keyed by URL path. */
export function loadStaticFiles(): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  for (const name of readdirSync(STATIC_DIR)) {
    const contentType = CONTENT_TYPES[extname(name)];
    if (contentType) files.set(`/${name}`, { body: readFileSync(join(STATIC_DIR, name)), contentType });
  }
  const index = files.get('/index.html');
  if (index) files.set('/', index);
  for (const [path, specifier] of Object.entries(VENDOR_MODULES)) {
    const file = fileURLToPath(import.meta.resolve(specifier));
    files.set(path, { body: readFileSync(file), contentType: CONTENT_TYPES['.mjs'] as string });
  }
  return files;
}

export function sendStatic(response: ServerResponse, file: StaticFile): void {
  response.writeHead(200, {
    'Content-Type': file.contentType,
    'Content-Length': file.body.length,
    'Cache-Control': 'no-cache',
  });
  response.end(response.req.method === 'HEAD' ? undefined : file.body);
}
