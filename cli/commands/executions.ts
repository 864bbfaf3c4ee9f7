import { resolveDataDir } from '../../engine/engine-config.ts';
import {
  EngineStore,
  EXECUTION_STATUSES,
  type Execution,
  type ExecutionStatus,
  parseSince,
} from '../../engine/state/engine-store.ts';
import { type CliCommand, EXIT, parseCommandLine, UsageError } from '../cli-support.ts';

export const executionsCommand: CliCommand = {
  name: 'executions',
  summary: 'list what flow steps did, or show one flow instance step by step',
  help: `Usage: switchboard executions [--flow NAME] [--status STATUS] [--since WHEN] [--limit N] [--json]
       switchboard executions <correlationId> [--json]

Every step that fires is recorded: flow and version, step, correlation id, the event that triggered
it, the command it sent, the result event, status and timings. The first form lists executions, newest
first; the second shows one flow instance step by step. Reads the engine's data directory, also while
the engine runs.

Options:
  --flow NAME      only this flow
  --status STATUS  pending, succeeded, failed or timed_out
  --since WHEN     an RFC 3339 time, or a duration back from now: 30s, 15m, 2h, 7d
  --limit N        at most N executions (default: 50)
  --json           JSON lines with everything recorded, instead of a table
  --data-dir DIR   the engine's state directory (overrides SWITCHBOARD_DATA_DIR; default ./.switchboard)
`,
  async run(argv, io) {
    const { values, positionals } = parseCommandLine(
      argv,
      {
        flow: { type: 'string' },
        status: { type: 'string' },
        since: { type: 'string' },
        limit: { type: 'string' },
        json: { type: 'boolean' },
        'data-dir': { type: 'string' },
      },
      true,
    );
    if (positionals.length > 1) throw new UsageError('give at most one correlation id');
    const status = values.status as ExecutionStatus | undefined;
    if (status !== undefined && !EXECUTION_STATUSES.includes(status)) {
      throw new UsageError(`--status takes ${EXECUTION_STATUSES.join(', ')}`);
    }
    const limit = values.limit === undefined ? 50 : Number(values.limit);
    if (!Number.isInteger(limit) || limit < 1) throw new UsageError('--limit takes a whole number above 0');
    const since = values.since === undefined ? undefined : sinceOption(values.since);
    const store = EngineStore.openReadOnly(resolveDataDir(io.env, { dataDir: values['data-dir'] }));
    try {
      const [correlationId] = positionals;
      const executions = correlationId
        ? store.executionsOf(correlationId)
        : store.listExecutions({ flow: values.flow, status, since, limit });
      if (correlationId && executions.length === 0) {
        io.stderr.write(`no flow instance with correlation id ${correlationId}\n`);
        return EXIT.failure;
      }
      for (const execution of executions) {
        io.stdout.write(
          `${values.json ? JSON.stringify(execution) : describe(execution, Boolean(correlationId))}\n`,
        );
      }
      return EXIT.ok;
    } finally {
      store.close();
    }
  },
};

function describe(execution: Execution, detailed: boolean): string {
  const command = `${execution.command.pack}.${execution.command.name}`;
  const duration = execution.durationMs === undefined ? '' : ` ${execution.durationMs} ms`;
  const line = `${execution.startedAt}  ${execution.status.padEnd(9)}  ${execution.flowName}/${execution.stepId}  ${command}${duration}  ${execution.correlationId}${execution.error ? `  ${execution.error}` : ''}`;
  if (!detailed) return line;
  const trigger = execution.triggerEvent;
  const result = execution.resultEvent
    ? `${execution.resultEvent.pack}.${execution.resultEvent.name}`
    : '(none yet)';
  const lines = [
    line,
    `  id:      ${execution.id}`,
    `  trigger: ${trigger.pack}.${trigger.name} ${JSON.stringify(trigger.payload)}`,
    `  command: ${command} ${JSON.stringify(execution.command.payload)}`,
    `  result:  ${result}${execution.resultEvent ? ` ${JSON.stringify(execution.resultEvent.payload)}` : ''}`,
  ];
  // Run again (the console) links the two executions both ways.
  if (execution.retryOf) lines.push(`  run again of ${execution.retryOf}`);
  if (execution.retriedBy) lines.push(`  run again as ${execution.retriedBy}`);
  return lines.join('\n');
}

function sinceOption(text: string): Date {
  const since = parseSince(text);
  if (since === undefined) throw new UsageError(`--since takes a time or a duration like 2h, not "${text}"`);
  return since;
}
