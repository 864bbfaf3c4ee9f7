/** What `switchboard all` started, for the summary that ends its start-up. */
export interface StartupState {
  /** `undefined` for the in-memory bus; else the broker's URL. */
  brokerUrl: string | undefined;
  /** Undefined when the engine does not run (no flows directory). */
  flows:
    | { dir: string; loaded: string[]; refused: Array<{ file: string; path: string; reason: string }> }
    | undefined;
  packs: Array<{ name: string; running: boolean; toRun: string | undefined }>;
  /** Where the web console listens, and whether it asks for SWITCHBOARD_CONSOLE_TOKEN. */
  console: { url: string; tokenRequired: boolean };
}

/**
 * A few lines a newcomer can act on: where the bus is, which flows are in force and why others are not,
 * and for each pack not running, only the variables that would make it run.
 */
export function startupSummary(state: StartupState): string {
  const lines = ['Switchboard is running.'];
  lines.push(
    state.brokerUrl === undefined
      ? '  bus:   in-memory, inside this process (set AMQP_URL to use RabbitMQ)'
      : `  bus:   RabbitMQ at ${brokerAddress(state.brokerUrl)}`,
  );
  if (state.flows === undefined) {
    lines.push('  flows: none: there is no flows directory, so the flow engine does not run (set --flows)');
  } else {
    const { dir, loaded, refused } = state.flows;
    lines.push(
      `  flows: ${loaded.length} loaded from ${dir}${loaded.length > 0 ? `: ${loaded.join(', ')}` : ''}`,
    );
    for (const problem of refused) {
      lines.push(
        `         refused ${problem.file}${problem.path ? `:${problem.path}` : ''}: ${problem.reason}`,
      );
    }
  }
  lines.push('  packs:');
  for (const pack of state.packs) {
    lines.push(`    ${pack.name}: ${pack.running ? 'running' : `not configured; ${pack.toRun} to run it`}`);
  }
  lines.push(
    `  console: ${state.console.url}${state.console.tokenRequired ? ' (sign in with SWITCHBOARD_CONSOLE_TOKEN)' : ''}`,
  );
  return lines.join('\n');
}

/** Host and port only: a summary has no use for the user name, and none at all for the password. */
function brokerAddress(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname === '/' ? '' : parsed.pathname}`;
  } catch {
    return '(an unreadable AMQP_URL)';
  }
}
