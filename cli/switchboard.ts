#!/usr/bin/env node
import { type CliCommand, type CliIo, EXIT, runCommand } from './cli-support.ts';
import { allCommand } from './commands/all.ts';
import { datastoreCommand } from './commands/datastore.ts';
import { engineCommand } from './commands/engine.ts';
import { executionsCommand } from './commands/executions.ts';
import { flowsCommand } from './commands/flows.ts';
import { packCommand } from './commands/pack.ts';
import { sendCommand } from './commands/send.ts';
import { tailCommand } from './commands/tail.ts';

const COMMANDS: CliCommand[] = [
  allCommand(),
  packCommand(),
  engineCommand,
  sendCommand,
  tailCommand,
  flowsCommand,
  executionsCommand,
  datastoreCommand,
];

const USAGE = `Usage: switchboard <command> [options]

Switchboard connects chat and CI systems through RabbitMQ: packs own one outside system each,
flows turn events into commands. See README.md and docs/protocol.md.

Commands:
${COMMANDS.map((command) => `  ${command.name.padEnd(10)} ${command.summary}`).join('\n')}

Run \`switchboard <command> --help\` for its options and settings.
Exit status: 0 ok; 1 failure; 2 send --wait got no result; 64 wrong arguments;
69 broker unreachable; 78 configuration error.
`;

export async function main(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(USAGE);
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  const command = COMMANDS.find((candidate) => candidate.name === name);
  if (!command) {
    io.stderr.write(`switchboard: unknown command "${name}"\n\n${USAGE}`);
    return EXIT.usage;
  }
  return runCommand(command, rest, io);
}

if (import.meta.main) {
  const io: CliIo = {
    env: process.env,
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
  };
  main(process.argv.slice(2), io).then(
    (code) => {
      // exitCode rather than exit(): piped stdout is written asynchronously and exit() could cut it short.
      process.exitCode = code;
      setTimeout(() => process.exit(code), 2000).unref();
    },
    (error: unknown) => {
      process.stderr.write(
        `switchboard: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
      process.exit(EXIT.failure);
    },
  );
}
