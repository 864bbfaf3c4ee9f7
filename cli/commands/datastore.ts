import { resolveDataDir } from '../../engine/engine-config.ts';
import { EngineStore } from '../../engine/state/engine-store.ts';
import { type CliCommand, EXIT, parseCommandLine, UsageError } from '../cli-support.ts';

export const datastoreCommand: CliCommand = {
  name: 'datastore',
  summary: 'read and write the key/values flows read with the datastore filter',
  help: `Usage: switchboard datastore set <key> <value> | get <key> | list | delete <key> [--data-dir DIR]

The datastore holds values flows read with {{ 'key' | datastore }}. A value that is JSON is stored
parsed (set k 5 stores the number 5, set k '{"a":1}' an object); anything else is stored as a string.
Works on the engine's data directory, also while the engine runs.

Options:
  --data-dir DIR   the engine's state directory (overrides SWITCHBOARD_DATA_DIR; default ./.switchboard)
`,
  async run(argv, io) {
    const { values, positionals } = parseCommandLine(argv, { 'data-dir': { type: 'string' } }, true);
    const [action, key, value, ...rest] = positionals;
    const expected = { set: 3, get: 2, delete: 2, list: 1 } as Record<string, number>;
    if (!action || !(action in expected)) throw new UsageError('say set, get, list or delete');
    if (positionals.length !== expected[action] || rest.length > 0) {
      throw new UsageError(`wrong number of arguments for "${action}"; see --help`);
    }
    const dataDir = resolveDataDir(io.env, { dataDir: values['data-dir'] });
    const store =
      action === 'get' || action === 'list' ? EngineStore.openReadOnly(dataDir) : EngineStore.open(dataDir);
    try {
      if (action === 'set') {
        store.datastoreSet(key as string, parseValue(value as string));
      } else if (action === 'get') {
        const found = store.datastoreGet(key as string);
        if (found === undefined) {
          io.stderr.write(`no key "${key}" in the datastore\n`);
          return EXIT.failure;
        }
        io.stdout.write(`${JSON.stringify(found)}\n`);
      } else if (action === 'delete') {
        if (!store.datastoreDelete(key as string)) {
          io.stderr.write(`no key "${key}" in the datastore\n`);
          return EXIT.failure;
        }
      } else {
        for (const entry of store.datastoreList())
          io.stdout.write(`${entry.key}\t${JSON.stringify(entry.value)}\n`);
      }
      return EXIT.ok;
    } finally {
      store.close();
    }
  },
};

function parseValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
