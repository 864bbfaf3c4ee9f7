// The README's variable table of each pack is the user's reference: it must say what the pack's
// definitions say, which are what its parser and `switchboard pack <name> --help` use.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { CONSOLE_VARIABLES } from '../../console/console-config.ts';
import { CI_WEBHOOK_VARIABLES } from '../../packs/ci-webhook/ci-webhook-config.ts';
import { MATRIX_VARIABLES } from '../../packs/matrix/matrix-config.ts';
import { MATTERMOST_VARIABLES } from '../../packs/mattermost/mattermost-config.ts';
import { NOTIFY_VARIABLES } from '../../packs/notify/notify-config.ts';
import { SLACK_VARIABLES } from '../../packs/slack/slack-config.ts';
import { type ConfigVariable, listVariables } from '../../shared/config-variables.ts';
import { readVariablesTable, renderVariablesTable, type VariableRow } from '../support/readme-tables.ts';

const ROOT = resolve(import.meta.dirname, '../..');

/** Each pack, the README section that documents it, and its definitions. */
const PACKS: Array<{
  pack: string;
  heading: string;
  variables: Record<string, ConfigVariable>;
  /** The document, when not the README. */
  file?: string;
}> = [
  { pack: 'slack', heading: 'Slack', variables: SLACK_VARIABLES },
  { pack: 'matrix', heading: 'Matrix', variables: MATRIX_VARIABLES },
  { pack: 'mattermost', heading: 'Mattermost', variables: MATTERMOST_VARIABLES },
  { pack: 'ci-webhook', heading: 'CI webhooks', variables: CI_WEBHOOK_VARIABLES },
  { pack: 'notify', heading: 'Notify a group', variables: NOTIFY_VARIABLES },
  // Not a pack, but the same promise: the table says what the parser does.
  { pack: 'console', heading: 'The web console', variables: CONSOLE_VARIABLES },
  { pack: 'console', heading: 'Opening it', variables: CONSOLE_VARIABLES, file: 'docs/console.md' },
];

/** Every way the README's rows and the definitions disagree, each naming the pack and the variable. */
function disagreements(
  pack: string,
  rows: readonly VariableRow[],
  variables: readonly ConfigVariable[],
): string[] {
  const problems: string[] = [];
  const defined = new Map(variables.map((variable) => [variable.name, variable]));
  const documented = new Map<string, VariableRow>();
  for (const row of rows) {
    if (documented.has(row.name))
      problems.push(`${pack}: ${row.name} is in the README twice (line ${row.line})`);
    documented.set(row.name, row);
    const variable = defined.get(row.name);
    if (!variable) {
      problems.push(
        `${pack}: ${row.name} is in the README (line ${row.line}) but the pack does not define it`,
      );
      continue;
    }
    for (const field of ['default', 'meaning'] as const) {
      if (row[field] !== variable[field]) {
        problems.push(
          `${pack}: ${row.name}'s ${field} differs: README (line ${row.line}) "${row[field]}", definition "${variable[field]}"`,
        );
      }
    }
  }
  for (const variable of variables) {
    if (!documented.has(variable.name))
      problems.push(`${pack}: ${variable.name} is defined but missing from the README`);
  }
  return problems;
}

for (const { pack, heading, variables, file = 'README.md' } of PACKS) {
  test(`${file}: the ${pack} table (under "## ${heading}") says what its definitions say`, () => {
    const definitions = listVariables(variables);
    let rows: VariableRow[];
    try {
      rows = readVariablesTable(readFileSync(resolve(ROOT, file), 'utf8'), heading);
    } catch (error) {
      throw new Error(`${pack}: ${file}, under "## ${heading}": ${(error as Error).message}`);
    }
    const problems = disagreements(pack, rows, definitions);
    assert.deepEqual(
      problems,
      [],
      `${problems.join('\n')}\n\nThe table the definitions give:\n${renderVariablesTable(definitions)}\n`,
    );
  });
}

test('a README that disagrees is reported by pack and variable', () => {
  const definitions = listVariables(SLACK_VARIABLES);
  const table = renderVariablesTable(definitions)
    .split('\n')
    .filter((line) => !line.startsWith('| `SLACK_USER_CACHE_TTL`'))
    .map((line) => line.replace('| `SLACK_HTTP_PORT` | `3000` |', '| `SLACK_HTTP_PORT` | `3001` |'))
    .concat('| `SLACK_TEAM` | none | a variable nobody reads |');
  const rows = readVariablesTable(['## Slack', '', ...table, '', '## Matrix'].join('\n'), 'Slack');
  assert.deepEqual(disagreements('slack', rows, definitions), [
    'slack: SLACK_HTTP_PORT\'s default differs: README (line 8) "`3001`", definition "`3000`"',
    'slack: SLACK_TEAM is in the README (line 14) but the pack does not define it',
    'slack: SLACK_USER_CACHE_TTL is defined but missing from the README',
  ]);
});
