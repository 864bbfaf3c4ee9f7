import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../shared/config.ts';
import {
  defaultValues,
  defineVariables,
  listVariables,
  readInteger,
  readText,
  readVariablesTable,
  renderVariablesHelp,
  renderVariablesTable,
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

test('the README table round-trips through its reader, which takes only the table of its section', () => {
  const table = renderVariablesTable(listVariables(EXAMPLE));
  assert.equal(
    table.split('\n').slice(0, 4).join('\n'),
    [
      '| variable | default | meaning |',
      '|---|---|---|',
      '| `EXAMPLE_TOKEN` | required | the token, `ex-...` |',
      '| `EXAMPLE_PORT` | `8000` | port of `POST /hooks` |',
    ].join('\n'),
  );
  const markdown = [
    '# Example',
    '## Other',
    '| variable | default | meaning |',
    '|---|---|---|',
    '| `OTHER` | none | not this one |',
    '## Example pack',
    'Some text.',
    '| command | success | failure |',
    '|---|---|---|',
    '| `Send` | `Sent` | `SendFailed` |',
    '',
    table,
    '',
    'After the table.',
    '## Next',
  ].join('\n');
  const rows = readVariablesTable(markdown, 'Example pack');
  assert.deepEqual(
    rows.map(({ line, ...row }) => row),
    listVariables(EXAMPLE).map(({ defaultValue, ...row }) => row),
  );
  assert.equal(rows[0]?.line, 14);
});

test('a pipe inside a cell is escaped in the table and read back whole', () => {
  const piped = defineVariables({
    PIPED: { default: 'none', meaning: "`{{ 'key' | datastore }}` in flows" },
  });
  const table = renderVariablesTable(listVariables(piped));
  assert.match(table, /\\\| datastore/);
  assert.equal(readVariablesTable(`## P\n${table}`, 'P')[0]?.meaning, piped.PIPED.meaning);
});

test('the reader refuses what it cannot check: no section, no table, a row naming two variables', () => {
  assert.throws(() => readVariablesTable('## Slack\n', 'Matrix'), /no heading "Matrix"/);
  assert.throws(
    () => readVariablesTable('## Slack\ntext\n## Matrix\n| variable | default | meaning |\n', 'Slack'),
    /no \| variable \| default \| meaning \| table under "Slack"/,
  );
  assert.throws(
    () =>
      readVariablesTable(
        '## Slack\n| variable | default | meaning |\n|---|---|---|\n| `A`, `B` | `1`, `2` | both |\n',
        'Slack',
      ),
    /line 4: a row names one variable/,
  );
});
