/**
 * Runs the test pack through the real `switchboard pack` command, as its own process:
 *   node test/support/run-test-pack.ts <pack-name> [switchboard pack options]
 * The catalog is the only thing swapped: the pack command, config, bus, health server and shutdown are real.
 */

import { runCommand } from '../../cli/cli-support.ts';
import { packCommand } from '../../cli/commands/pack.ts';
import { createTestPack } from './test-pack.ts';

const name = process.argv[2] ?? 'test';
const catalog = [
  {
    name,
    summary: 'test pack',
    variables: [],
    toRun: undefined,
    isConfigured: () => true,
    load: async () => {
      const pack = createTestPack(name);
      const giveUpMs = Number(process.env.TEST_PACK_GIVE_UP_AFTER_MS);
      // Stands for a pack whose credentials get revoked while it runs.
      if (giveUpMs > 0) {
        pack.start = async (context) => {
          setTimeout(() => context.fail(new Error('the token was revoked')), giveUpMs);
        };
      }
      return pack;
    },
  },
];
process.exitCode = await runCommand(packCommand(catalog), process.argv.slice(2), {
  env: process.env,
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
});
