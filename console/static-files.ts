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
  '/vendor/preact-hooks.mjs': 'preact/hooks',
  '/vendor/htm.mjs': 'htm',
  // Lays out the Flows page's step graph (dependsOn as edges); the page draws the SVG itself.
  '/vendor/dagre.mjs': '@dagrejs/dagre',
  // The Overview's events-per-minute chart.
  // uPlot has no `exports` field: resolving `uplot` would give its CommonJS build.
  '/vendor/uplot.mjs': 'uplot/dist/uPlot.esm.js',
  '/vendor/uplot.css': 'uplot/dist/uPlot.min.css',
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
  // Pages are linked without their extension: /flows serves flows.html.
  for (const [path, file] of [...files]) if (path.endsWith('.html')) files.set(path.slice(0, -5), file);
  for (const [path, specifier] of Object.entries(VENDOR_MODULES)) {
    const file = fileURLToPath(import.meta.resolve(specifier));
    files.set(path, {
      body: pointedAtVendor(readFileSync(file)),
      contentType: CONTENT_TYPES[extname(path)] as string,
    });
  }
  return files;
}

/**
 * preact/hooks imports the bare specifier "preact", which a browser cannot resolve without an import map
 * (an inline script, which the CSP forbids); pointing it at the served file keeps one Preact instance.
 */
function pointedAtVendor(body: Buffer): Buffer {
  const text = body.toString('utf8');
  const rewritten = text.replace(/from\s*(["'])preact\1/g, 'from"/vendor/preact.mjs"');
  return rewritten === text ? body : Buffer.from(rewritten);
}

export function sendStatic(response: ServerResponse, file: StaticFile): void {
  response.writeHead(200, {
    'Content-Type': file.contentType,
    'Content-Length': file.body.length,
    'Cache-Control': 'no-cache',
  });
  response.end(response.req.method === 'HEAD' ? undefined : file.body);
}
