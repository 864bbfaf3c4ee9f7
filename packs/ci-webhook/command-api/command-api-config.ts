import type { Env } from '../../../shared/config.ts';
import type { VariableSpec } from '../../../shared/config-variables.ts';

// Being built (issue 14, the HTTP command API): its variables, its settings, and what makes it run.

/** The command API's variables, in the order of `--help` and the README (CI_WEBHOOK_VARIABLES takes them). */
export const COMMAND_API_VARIABLE_SPECS = {} as const satisfies Record<string, VariableSpec>;

/** Variables any one of which makes `switchboard all` start the pack. */
export const COMMAND_API_RUN_VARIABLES: readonly string[] = [];

export type CommandApiConfig = Record<string, never>;

export function parseCommandApiConfig(_env: Env): CommandApiConfig {
  return {};
}
