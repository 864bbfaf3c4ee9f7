// The layering the README's Layout section describes: cli/ is the composition root and may import anything;
// console/ builds on engine/ and shared/; packs/ and engine/ on shared/ only; shared/ imports nothing of ours.
// Each pack folder stands alone: what packs share lives in the top-level files of packs/ (chat-commands.ts)
// or in shared/.
import assert from 'node:assert/strict';
import { globSync, readFileSync } from 'node:fs';
import { dirname, posix, relative, resolve, sep } from 'node:path';
import { test } from 'node:test';

const ROOT = resolve(import.meta.dirname, '..');
const SOURCE_FOLDERS = ['shared', 'engine', 'packs', 'console', 'cli'];

/** The folders of ours each source folder must not import from (docs/ holds data any of them may read). */
const FORBIDDEN: Record<string, readonly string[]> = {
  shared: ['engine', 'packs', 'console', 'cli', 'test'],
  engine: ['packs', 'console', 'cli', 'test'],
  packs: ['engine', 'console', 'cli', 'test'],
  console: ['packs', 'cli', 'test'],
  cli: ['test'],
};

// Static `import ... from '...'`, `import '...'`, `export ... from '...'`, each starting a line (so a
// comment mentioning one does not count), and `import('...')` anywhere.
const STATIC_IMPORT = /^\s*(?:import|export)\s(?:[^'";]*?[\s}*]from\s*)?['"]([^'"]+)['"]/gm;
const DYNAMIC_IMPORT = /\bimport\s*\(\s*['"]([^'"]+)['"]/g;

function importSpecifiers(source: string): string[] {
  return [...source.matchAll(STATIC_IMPORT), ...source.matchAll(DYNAMIC_IMPORT)].map(
    (match) => match[1] ?? '',
  );
}

/** Why `file` (relative to the root) may not import `target` (relative to the root), or undefined. */
function layeringProblem(file: string, target: string): string | undefined {
  const [fromFolder = '', fromPack] = file.split('/');
  const [toFolder = '', toPack] = target.split('/');
  if (FORBIDDEN[fromFolder]?.includes(toFolder)) return `${fromFolder}/ may not depend on ${toFolder}/`;
  // A pack folder is packs/<name>/...: three or more segments. Two (packs/chat-commands.ts) is a file the packs share.
  const packOf = (path: string, folder: string | undefined) =>
    path.split('/').length > 2 ? folder : undefined;
  if (fromFolder === 'packs' && toFolder === 'packs') {
    const fromName = packOf(file, fromPack);
    const toName = packOf(target, toPack);
    if (toName !== undefined && toName !== fromName) {
      return fromName === undefined
        ? `the files packs/ shares may not depend on one pack (packs/${toName}/)`
        : `packs/${fromName}/ may not depend on another pack (packs/${toName}/)`;
    }
  }
  return undefined;
}

function layeringViolations(): string[] {
  const files = globSync(
    SOURCE_FOLDERS.map((folder) => `${folder}/**/*.ts`),
    { cwd: ROOT },
  ).map((file) => file.split(sep).join('/'));
  for (const folder of SOURCE_FOLDERS) {
    assert.ok(
      files.some((file) => file.startsWith(`${folder}/`)),
      `no .ts file found under ${folder}/`,
    );
  }
  const violations: string[] = [];
  for (const file of files.sort()) {
    for (const specifier of importSpecifiers(readFileSync(resolve(ROOT, file), 'utf8'))) {
      if (!specifier.startsWith('.')) continue; // node:, packages
      const target = relative(ROOT, resolve(ROOT, dirname(file), specifier))
        .split(sep)
        .join(posix.sep);
      const problem = layeringProblem(file, target);
      if (problem !== undefined) violations.push(`${file} imports '${specifier}': ${problem}`);
    }
  }
  return violations;
}

test('the import parser finds static, re-exported, side-effect and dynamic imports, not strings or comments', () => {
  const source = [
    "import assert from 'node:assert/strict';",
    "import type { Env } from '../shared/config.ts';",
    'import {',
    '  a,',
    '  b,',
    "} from '../engine/engine.ts';",
    "import * as all from './all.ts';",
    "import schema from '../../docs/flow.schema.json' with { type: 'json' };",
    "import './side-effect.ts';",
    "export { x } from './x.ts';",
    "export * from './star.ts';",
    "export type { Y } from './y.ts';",
    "export const DIR = './not-an-import';",
    "// import nothing from './comment.ts'",
    "const lazy = await import('../packs/slack/slack-pack.ts');",
  ].join('\n');
  assert.deepEqual(importSpecifiers(source), [
    'node:assert/strict',
    '../shared/config.ts',
    '../engine/engine.ts',
    './all.ts',
    '../../docs/flow.schema.json',
    './side-effect.ts',
    './x.ts',
    './star.ts',
    './y.ts',
    '../packs/slack/slack-pack.ts',
  ]);
});

test('the rules: shared/ imports nothing of ours, engine/ and packs/ only shared/, a pack no other pack', () => {
  assert.match(layeringProblem('shared/runtime/process.ts', 'engine/engine.ts') ?? '', /shared\/ may not/);
  assert.match(layeringProblem('shared/config.ts', 'cli/pack-catalog.ts') ?? '', /shared\/ may not/);
  assert.match(layeringProblem('engine/engine.ts', 'packs/slack/slack-pack.ts') ?? '', /engine\/ may not/);
  assert.match(layeringProblem('packs/slack/slack-pack.ts', 'engine/engine.ts') ?? '', /packs\/ may not/);
  assert.match(layeringProblem('packs/notify/notify-pack.ts', 'packs/slack/x.ts') ?? '', /another pack/);
  assert.match(layeringProblem('packs/chat-commands.ts', 'packs/slack/x.ts') ?? '', /one pack/);
  assert.equal(layeringProblem('packs/slack/slack-pack.ts', 'packs/chat-commands.ts'), undefined);
  assert.equal(layeringProblem('packs/slack/slack-pack.ts', 'packs/slack/pacer/lane.ts'), undefined);
  assert.equal(layeringProblem('packs/notify/audiences.ts', 'docs/audiences.schema.json'), undefined);
  assert.equal(layeringProblem('cli/commands/all.ts', 'packs/slack/slack-pack.ts'), undefined);
  assert.match(layeringProblem('console/routes.ts', 'packs/slack/slack-pack.ts') ?? '', /console\/ may not/);
  assert.match(layeringProblem('engine/engine.ts', 'console/routes.ts') ?? '', /engine\/ may not/);
  assert.equal(layeringProblem('console/engine-view.ts', 'engine/state/engine-store.ts'), undefined);
});

test('shared/, engine/, packs/, console/ and cli/ keep the layering of the README', () => {
  assert.deepEqual(layeringViolations(), []);
});
