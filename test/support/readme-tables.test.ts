import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defineVariables, listVariables } from '../../shared/config-variables.ts';
import { readVariablesTable, renderVariablesTable } from './readme-tables.ts';

const EXAMPLE = defineVariables({
  EXAMPLE_TOKEN: { default: 'required', meaning: 'the token, `ex-...`' },
  EXAMPLE_PORT: { defaultValue: 8000, meaning: 'port of `POST /hooks`' },
  EXAMPLE_HOST: { defaultValue: '0.0.0.0', default: 'every interface', meaning: 'bind address' },
  EXAMPLE_STATE_DIR: { default: 'unset (memory only)', meaning: 'where the state is kept' },
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
