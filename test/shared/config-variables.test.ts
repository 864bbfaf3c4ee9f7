import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../shared/config.ts';
import {
  defaultValues,
  defineVariables,
  listVariables,
  readInteger,
  readText,
  renderVariablesHelp,
} from '../../shared/config-variables.ts';

const EXAMPLE = defineVariables({
  EXAMPLE_TOKEN: { default: 'required', meaning: 'the token, `ex-...`' },
  EXAMPLE_PORT: { defaultValue: 8000, meaning: 'port of `POST /hooks`' },
  EXAMPLE_HOST: { defaultValue: '0.0.0.0', default: 'every interface', meaning: 'bind address' },
  EXAMPLE_STATE_DIR: { default: 'unset (memory only)', meaning: 'where the state is kept' },
});

test('each definition is named after its key, in order, and shows its default value unless told otherwise', () => {
  assert.deepEqual(listVariables(EXAMPLE), [
    { name: 'EXAMPLE_TOKEN', defaultValue: undefined, default: 'required', meaning: 'the token, `ex-...`' },
    { name: 'EXAMPLE_PORT', defaultValue: 8000, default: '`8000`', meaning: 'port of `POST /hooks`' },
    { name: 'EXAMPLE_HOST', defaultValue: '0.0.0.0', default: 'every interface', meaning: 'bind address' },
    {
      name: 'EXAMPLE_STATE_DIR',
      defaultValue: undefined,
      default: 'unset (memory only)',
      meaning: 'where the state is kept',
    },
  ]);
  assert.deepEqual(defaultValues(EXAMPLE), { EXAMPLE_PORT: 8000, EXAMPLE_HOST: '0.0.0.0' });
  assert.ok(Object.isFrozen(EXAMPLE.EXAMPLE_PORT), 'a definition cannot be changed behind the parser');
});

test('parsers read the value, or the definition’s default when it is unset or blank, naming the variable', () => {
  assert.equal(readText({}, EXAMPLE.EXAMPLE_HOST), '0.0.0.0');
  assert.equal(readText({ EXAMPLE_HOST: '  ' }, EXAMPLE.EXAMPLE_HOST), '0.0.0.0');
  assert.equal(readText({ EXAMPLE_HOST: ' ::1 ' }, EXAMPLE.EXAMPLE_HOST), '::1');
  assert.equal(readText({}, EXAMPLE.EXAMPLE_STATE_DIR), undefined);
  assert.equal(readInteger({}, EXAMPLE.EXAMPLE_PORT, 0, 65_535), 8000);
  assert.equal(readInteger({ EXAMPLE_PORT: '9000' }, EXAMPLE.EXAMPLE_PORT, 0, 65_535), 9000);
  assert.throws(
    () => readInteger({ EXAMPLE_PORT: 'http' }, EXAMPLE.EXAMPLE_PORT, 0, 65_535),
    (error: unknown) => error instanceof ConfigError && error.variable === 'EXAMPLE_PORT',
  );
});

test('--help shows name, default and meaning in aligned columns, wrapping long meanings', () => {
  assert.equal(
    renderVariablesHelp(listVariables(EXAMPLE)),
    [
      '  EXAMPLE_TOKEN      required             the token, ex-...',
      '  EXAMPLE_PORT       8000                 port of POST /hooks',
      '  EXAMPLE_HOST       every interface      bind address',
      '  EXAMPLE_STATE_DIR  unset (memory only)  where the state is kept',
    ].join('\n'),
  );
  const long = defineVariables({
    A: { defaultValue: 1, meaning: 'one two three four five six seven eight nine ten eleven twelve' },
    LONGER: { default: 'a default far too long for its column', meaning: 'short' },
  });
  assert.equal(
    renderVariablesHelp(listVariables(long), { width: 50, maxDefaultWidth: 10 }),
    [
      '  A       1  one two three four five six seven',
      '             eight nine ten eleven twelve',
      '  LONGER  a default far too long for its column',
      '             short',
    ].join('\n'),
  );
});
