// docs/console.openapi.yaml is the console API's contract: this test fails when a route is served but not
// documented there, or documented but not served.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { BusTap } from '../../console/bus-tap.ts';
import { CONSOLE_FEATURES } from '../../console/features.ts';
import { PackDirectory } from '../../console/pack-directory.ts';
import type { ConsoleFeature } from '../../console/routes.ts';
import { MemoryBus } from '../../shared/bus/memory-bus.ts';
import { testLogger } from '../support/bus.ts';

const OPENAPI_FILE = resolve(import.meta.dirname, '../../docs/console.openapi.yaml');
const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, { summary?: string; responses?: Record<string, unknown> }>>;
}

async function servedRoutes(): Promise<string[]> {
  const bus = new MemoryBus();
  const packs = await PackDirectory.start(bus, testLogger);
  const tap = await BusTap.start(bus, testLogger);
  const features: ConsoleFeature[] = [];
  try {
    for (const factory of CONSOLE_FEATURES) {
      features.push(await factory({ bus, logger: testLogger, packs, tap, engine: undefined, settings: [] }));
    }
    return features.flatMap((feature) =>
      feature.routes.map((route) => `${route.method} ${route.path.replace(/:(\w+)/g, '{$1}')}`),
    );
  } finally {
    await Promise.all(features.map((feature) => feature.stop?.()));
    await tap.stop();
    await packs.stop();
    await bus.close();
  }
}

function documentedRoutes(document: OpenApiDocument): string[] {
  return Object.entries(document.paths)
    .filter(([path]) => path.startsWith('/api/'))
    .flatMap(([path, operations]) =>
      Object.keys(operations)
        .filter((method) => METHODS.includes(method))
        .map((method) => `${method.toUpperCase()} ${path}`),
    );
}

test('every API route the console serves is in docs/console.openapi.yaml, and nothing else is', async () => {
  const document = parse(readFileSync(OPENAPI_FILE, 'utf8')) as OpenApiDocument;
  assert.match(document.openapi, /^3\.1\./);
  const served = (await servedRoutes()).sort();
  const documented = documentedRoutes(document).sort();
  assert.ok(served.length > 0);
  assert.deepEqual(
    served.filter((route) => !documented.includes(route)),
    [],
    'served but not documented',
  );
  assert.deepEqual(
    documented.filter((route) => !served.includes(route)),
    [],
    'documented but not served',
  );
});

test('every documented operation has a summary and its responses', () => {
  const document = parse(readFileSync(OPENAPI_FILE, 'utf8')) as OpenApiDocument;
  for (const [path, operations] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      if (!METHODS.includes(method)) continue;
      assert.ok(operation.summary, `${method} ${path} has a summary`);
      assert.ok(Object.keys(operation.responses ?? {}).length > 0, `${method} ${path} has responses`);
    }
  }
});

test('every $ref in docs/console.openapi.yaml points at something it defines', () => {
  const text = readFileSync(OPENAPI_FILE, 'utf8');
  const document = parse(text) as Record<string, unknown>;
  const unresolved = [...text.matchAll(/\$ref: ['"]?#\/([^'"\s]+)/g)]
    .map((match) => match[1] as string)
    .filter((pointer) => {
      let node: unknown = document;
      for (const part of pointer.split('/')) node = (node as Record<string, unknown> | undefined)?.[part];
      return node === undefined;
    });
  assert.deepEqual(unresolved, []);
});
