import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { API_ERROR_CODES, API_STATUSES } from '../../../packs/ci-webhook/command-api/api-answer.ts';

// docs/api.openapi.yaml and docs/api.md say what the command API answers: every status and error code the
// code can answer, and nothing else.
const ROOT = resolve(import.meta.dirname, '../../..');
const spec = parse(readFileSync(resolve(ROOT, 'docs/api.openapi.yaml'), 'utf8')) as {
  openapi: string;
  paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
};
const guide = readFileSync(resolve(ROOT, 'docs/api.md'), 'utf8');
const operation = spec.paths['/v1/commands/{pack}/{command}']?.post;

test('the OpenAPI file is OpenAPI 3.1 and documents POST /v1/commands/{pack}/{command}', () => {
  assert.match(spec.openapi, /^3\.1\./);
  assert.ok(operation, 'POST /v1/commands/{pack}/{command}');
});

test('the statuses the code answers are the ones it documents, no more, no fewer', () => {
  const answered = new Set<number>([200, 202, ...Object.values(API_ERROR_CODES)]);
  assert.deepEqual(
    [...API_STATUSES].sort(),
    [...answered].sort(),
    'API_STATUSES is every status of the answers',
  );
  assert.deepEqual(
    Object.keys(operation?.responses ?? {})
      .map(Number)
      .sort(),
    [...answered].sort(),
  );
});

test('each error response names exactly the error codes of its status', () => {
  for (const [status, response] of Object.entries(operation?.responses ?? {})) {
    if (Number(status) < 400) continue;
    const text = JSON.stringify(response);
    const enumerated = /"code":\{"enum":\[([^\]]*)\]/.exec(text)?.[1];
    assert.ok(enumerated, `${status} lists its codes`);
    const expected = Object.entries(API_ERROR_CODES)
      .filter(([, code]) => code === Number(status))
      .map(([name]) => name)
      .sort();
    assert.deepEqual(JSON.parse(`[${enumerated}]`).sort(), expected, status);
  }
});

test('every $ref points to a schema that exists', () => {
  const text = readFileSync(resolve(ROOT, 'docs/api.openapi.yaml'), 'utf8');
  const schemas = (parse(text) as { components: { schemas: Record<string, unknown> } }).components.schemas;
  const refs = [...text.matchAll(/\$ref: "#\/components\/schemas\/([A-Za-z]+)"/g)].map(
    (match) => match[1] ?? '',
  );
  assert.ok(refs.length > 0);
  for (const ref of refs) assert.ok(ref in schemas, ref);
});

test('docs/api.md has a row for every error code with its status, and a curl example per chat pack', () => {
  for (const [code, status] of Object.entries(API_ERROR_CODES)) {
    assert.match(guide, new RegExp(`\\| \`${status}\` \\| \`${code}\` \\|`), code);
  }
  for (const pack of ['slack', 'matrix', 'mattermost']) {
    assert.match(guide, new RegExp(`curl [^\\n]*/v1/commands/${pack}/SendMessage`), pack);
  }
});
