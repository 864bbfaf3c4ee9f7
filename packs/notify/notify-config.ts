import { join, resolve } from 'node:path';
import type { Env } from '../../shared/config.ts';
import { defineVariables, readInteger, readText } from '../../shared/config-variables.ts';

/** The settings of the pack; the defaults are NOTIFY_VARIABLES'. */
export interface NotifyConfig {
  /**
   * The audiences file: --audiences / NOTIFY_AUDIENCES, else `audiences.json` (or .yaml, .yml) in the flows
   * directory (--flows / SWITCHBOARD_FLOWS_DIR, default ./flows).
   */
  audiencesFile: string | undefined;
  flowsDir: string;
  /** NOTIFY_DELIVERY_TIMEOUT: seconds a delivery waits for its pack's result. */
  deliveryTimeoutMs: number;
}

/** The pack's variables: its parser's defaults, `switchboard pack notify --help` and the README's table. */
export const NOTIFY_VARIABLES = defineVariables({
  NOTIFY_AUDIENCES: {
    default: '`audiences.json` (`.yaml`, `.yml`) in the flows directory',
    meaning: 'the mapping file (`--audiences FILE`)',
  },
  NOTIFY_DELIVERY_TIMEOUT: { defaultValue: 30, meaning: "seconds a delivery waits for its pack's result" },
});

/** Nothing: the pack needs nothing outside the bus, so `switchboard all` always runs it. */
export const NOTIFY_TO_RUN: string | undefined = undefined;

const V = NOTIFY_VARIABLES;

export function parseNotifyConfig(env: Env): NotifyConfig {
  const file = readText(env, V.NOTIFY_AUDIENCES);
  return {
    audiencesFile: file ? resolve(file) : undefined,
    flowsDir: resolve(env.SWITCHBOARD_FLOWS_DIR?.trim() || join('.', 'flows')),
    deliveryTimeoutMs: readInteger(env, V.NOTIFY_DELIVERY_TIMEOUT, 1, 3600) * 1000,
  };
}
