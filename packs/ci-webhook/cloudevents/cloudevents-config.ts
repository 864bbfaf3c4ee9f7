import type { Env } from '../../../shared/config.ts';
import type { VariableSpec } from '../../../shared/config-variables.ts';

// Being built (issue 14, CloudEvents): its variables, its settings, and what makes it run.

/** The variables of /webhooks/cloudevents, in the order of `--help` and the README (CI_WEBHOOK_VARIABLES takes them). */
export const CLOUDEVENTS_VARIABLE_SPECS = {} as const satisfies Record<string, VariableSpec>;

/** Variables any one of which makes `switchboard all` start the pack. */
export const CLOUDEVENTS_RUN_VARIABLES: readonly string[] = [];

export type CloudEventsConfig = Record<string, never>;

export function parseCloudEventsConfig(_env: Env): CloudEventsConfig {
  return {};
}
