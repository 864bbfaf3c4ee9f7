import {
  CI_WEBHOOK_TO_RUN,
  CI_WEBHOOK_VARIABLES,
  ciWebhookConfigured,
  parseCiWebhookConfig,
} from '../packs/ci-webhook/ci-webhook-config.ts';
import { createCiWebhookPack } from '../packs/ci-webhook/ci-webhook-pack.ts';
import {
  MATRIX_TO_RUN,
  MATRIX_VARIABLES,
  matrixConfigured,
  parseMatrixConfig,
} from '../packs/matrix/matrix-config.ts';
import { createMatrixPack } from '../packs/matrix/matrix-pack.ts';
import {
  MATTERMOST_TO_RUN,
  MATTERMOST_VARIABLES,
  mattermostConfigured,
  parseMattermostConfig,
} from '../packs/mattermost/mattermost-config.ts';
import { createMattermostPack } from '../packs/mattermost/mattermost-pack.ts';
import { NOTIFY_VARIABLES, parseNotifyConfig } from '../packs/notify/notify-config.ts';
import { createNotifyPack } from '../packs/notify/notify-pack.ts';
import {
  parseSlackConfig,
  SLACK_TO_RUN,
  SLACK_VARIABLES,
  slackConfigured,
} from '../packs/slack/slack-config.ts';
import { createSlackPack } from '../packs/slack/slack-pack.ts';
import type { Env } from '../shared/config.ts';
import { type ConfigVariable, listVariables } from '../shared/config-variables.ts';
import type { PackDefinition } from '../shared/runtime/pack-definition.ts';

/** A pack this build can run, and how to tell whether the environment configures it. */
export interface PackEntry {
  name: string;
  summary: string;
  /** The environment variables it reads, with default and meaning: its config parser's own definitions. */
  variables: readonly ConfigVariable[];
  /** What to set so that it runs, naming only those variables; undefined when it always runs. */
  toRun: string | undefined;
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
    variables: listVariables(SLACK_VARIABLES),
    toRun: SLACK_TO_RUN,
    isConfigured: slackConfigured,
    load: (env) => createSlackPack(parseSlackConfig(env)),
  },
  {
    name: 'ci-webhook',
    summary:
      'CI webhooks (JobServ, GitHub, GitLab, generic) over HTTP, verified: BuildStarted, BuildCompleted, DeploymentCompleted, WebhookReceived',
    variables: listVariables(CI_WEBHOOK_VARIABLES),
    toRun: CI_WEBHOOK_TO_RUN,
    isConfigured: ciWebhookConfigured,
    load: (env) => createCiWebhookPack(parseCiWebhookConfig(env)),
  },
  {
    name: 'matrix',
    summary:
      'Matrix on matrix-js-sdk: messages, HTML messages, broadcasts, rooms and aliases; ReceivedMessage',
    variables: listVariables(MATRIX_VARIABLES),
    toRun: MATRIX_TO_RUN,
    isConfigured: matrixConfigured,
    load: (env) => createMatrixPack(parseMatrixConfig(env)),
  },
  {
    name: 'mattermost',
    summary: 'Mattermost: bot account (REST, WebSocket), incoming webhook, slash commands',
    variables: listVariables(MATTERMOST_VARIABLES),
    toRun: MATTERMOST_TO_RUN,
    isConfigured: mattermostConfigured,
    load: (env) => createMattermostPack(parseMattermostConfig(env)),
  },
  {
    name: 'notify',
    summary: 'Notify: a message to a named group (#admins) reaches every pack and channel it maps to',
    variables: listVariables(NOTIFY_VARIABLES),
    toRun: undefined,
    // Built in: it needs nothing outside the bus, so `switchboard all` always runs it.
    isConfigured: () => true,
    load: async (env) => createNotifyPack(parseNotifyConfig(env)),
  },
];

export function findPack(name: string, catalog: readonly PackEntry[] = PACK_CATALOG): PackEntry | undefined {
  return catalog.find((entry) => entry.name === name.toLowerCase());
}
