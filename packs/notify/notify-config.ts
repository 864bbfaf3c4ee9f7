import { join, resolve } from 'node:path';
import { type Env, parseInteger } from '../../shared/config.ts';

export interface NotifyConfig {
  /**
   * The audiences file: --audiences / NOTIFY_AUDIENCES, else `audiences.json` (or .yaml, .yml) in the flows
   * directory (--flows / SWITCHBOARD_FLOWS_DIR, default ./flows).
   */
  audiencesFile: string | undefined;
  flowsDir: string;
  /** NOTIFY_DELIVERY_TIMEOUT: seconds a delivery waits for its pack's result. Default: 30. */
  deliveryTimeoutMs: number;
}

export const NOTIFY_SETTINGS: Record<string, string> = {
  NOTIFY_AUDIENCES:
    'the audiences file (default: audiences.json, .yaml or .yml in the flows directory; --audiences)',
  NOTIFY_DELIVERY_TIMEOUT: "seconds a delivery waits for its pack's result (default: 30)",
};

export function parseNotifyConfig(env: Env): NotifyConfig {
  const file = env.NOTIFY_AUDIENCES?.trim();
  return {
    audiencesFile: file ? resolve(file) : undefined,
    flowsDir: resolve(env.SWITCHBOARD_FLOWS_DIR?.trim() || join('.', 'flows')),
    deliveryTimeoutMs:
      parseInteger('NOTIFY_DELIVERY_TIMEOUT', env.NOTIFY_DELIVERY_TIMEOUT, 30, 1, 3600) * 1000,
  };
}
