import {
  CI_WEBHOOK_SETTINGS,
  ciWebhookConfigured,
  parseCiWebhookConfig,
} from '../packs/ci-webhook/ci-webhook-config.ts';
import { createCiWebhookPack } from '../packs/ci-webhook/ci-webhook-pack.ts';
import { MATRIX_SETTINGS, matrixConfigured, parseMatrixConfig } from '../packs/matrix/matrix-config.ts';
import { createMatrixPack } from '../packs/matrix/matrix-pack.ts';
import {
  MATTERMOST_SETTINGS,
  mattermostConfigured,
  parseMattermostConfig,
} from '../packs/mattermost/mattermost-config.ts';
import { createMattermostPack } from '../packs/mattermost/mattermost-pack.ts';
import { NOTIFY_SETTINGS, parseNotifyConfig } from '../packs/notify/notify-config.ts';
import { createNotifyPack } from '../packs/notify/notify-pack.ts';
import { parseSlackConfig, SLACK_SETTINGS, slackConfigured } from '../packs/slack/slack-config.ts';
import { createSlackPack } from '../packs/slack/slack-pack.ts';
import type { Env } from '../shared/config.ts';
import type { PackDefinition } from '../shared/runtime/pack-definition.ts';

/** A pack this build can run, and how to tell whether the environment configures it. */
export interface PackEntry {
  name: string;
  summary: string;
  /** The environment variables that configure it, with what each is for (shown by `--help` and `all`). */
  settings: Record<string, string>;
  /** True when the environment holds enough to start it (`switchboard all` starts only those). */
  isConfigured: (env: Env) => boolean;
  /** Builds the pack from the environment; throws ConfigError naming a bad variable. */
  load: (env: Env) => Promise<PackDefinition>;
}

/**
 * Every pack of this build; the runtime and the CLI need nothing else to run one.
 */
export const PACK_CATALOG: readonly PackEntry[] = [
  {
    name: 'slack',
    summary: 'Slack on Bolt (Socket Mode or HTTP events): messages, rich messages, broadcasts, channels',
    settings: SLACK_SETTINGS,
    isConfigured: slackConfigured,
    load: (env) => createSlackPack(parseSlackConfig(env)),
  },
  {
    name: 'ci-webhook',
    summary:
      'CI webhooks (JobServ, GitHub, GitLab, generic) over HTTP, verified: BuildStarted, BuildCompleted, DeploymentCompleted, WebhookReceived',
    settings: CI_WEBHOOK_SETTINGS,
    isConfigured: ciWebhookConfigured,
    load: (env) => createCiWebhookPack(parseCiWebhookConfig(env)),
  },
  {
    name: 'matrix',
    summary:
      'Matrix on matrix-js-sdk: messages, HTML messages, broadcasts, rooms and aliases; ReceivedMessage',
    settings: MATRIX_SETTINGS,
    isConfigured: matrixConfigured,
    load: (env) => createMatrixPack(parseMatrixConfig(env)),
  },
  {
    name: 'mattermost',
    summary: 'Mattermost: bot account (REST, WebSocket), incoming webhook, slash commands',
    settings: MATTERMOST_SETTINGS,
    isConfigured: mattermostConfigured,
    load: (env) => createMattermostPack(parseMattermostConfig(env)),
  },
  {
    name: 'notify',
    summary: 'Notify: a message to a named group (#admins) reaches every pack and channel it maps to',
    settings: NOTIFY_SETTINGS,
    // Built in: it needs nothing outside the bus, so `switchboard all` always runs it.
    isConfigured: () => true,
    load: async (env) => createNotifyPack(parseNotifyConfig(env)),
  },
];

export function findPack(name: string, catalog: readonly PackEntry[] = PACK_CATALOG): PackEntry | undefined {
  return catalog.find((entry) => entry.name === name.toLowerCase());
}
