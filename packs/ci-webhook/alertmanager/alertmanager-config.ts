import type { Env } from '../../../shared/config.ts';
import type { VariableSpec } from '../../../shared/config-variables.ts';

// Being built (issue 14, Alertmanager): its variables, its settings, and what makes it run.

/** The variables of /webhooks/alertmanager, in the order of `--help` and the README (CI_WEBHOOK_VARIABLES takes them). */
export const ALERTMANAGER_VARIABLE_SPECS = {} as const satisfies Record<string, VariableSpec>;

/** Variables any one of which makes `switchboard all` start the pack. */
export const ALERTMANAGER_RUN_VARIABLES: readonly string[] = [];

export type AlertmanagerConfig = Record<string, never>;

export function parseAlertmanagerConfig(_env: Env): AlertmanagerConfig {
  return {};
}
