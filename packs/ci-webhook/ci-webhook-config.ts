import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { ConfigError, type Env } from '../../shared/config.ts';
import {
  type ConfigVariable,
  defineVariables,
  readInteger,
  readText,
} from '../../shared/config-variables.ts';
import {
  ALERTMANAGER_RUN_VARIABLES,
  ALERTMANAGER_VARIABLE_SPECS,
  type AlertmanagerConfig,
  parseAlertmanagerConfig,
} from './alertmanager/alertmanager-config.ts';
import {
  CLOUDEVENTS_RUN_VARIABLES,
  CLOUDEVENTS_VARIABLE_SPECS,
  type CloudEventsConfig,
  parseCloudEventsConfig,
} from './cloudevents/cloudevents-config.ts';
import {
  COMMAND_API_RUN_VARIABLES,
  COMMAND_API_VARIABLE_SPECS,
  type CommandApiConfig,
  parseCommandApiConfig,
} from './command-api/command-api-config.ts';

/** How a generic source proves who sent a delivery: an HMAC of the body, or a shared token. */
export type GenericAuth =
  | {
      kind: 'hmac';
      /** The request header carrying the signature, lower-case. */
      header: string;
      secrets: string[];
      algorithm: 'sha256' | 'sha512' | 'sha1';
      /** What precedes the digest in the header, e.g. `sha256=`. Default: nothing. */
      prefix: string;
      encoding: 'hex' | 'base64';
    }
  | { kind: 'token'; header: string; tokens: string[] };

export interface GenericSourceConfig {
  auth: GenericAuth;
  /** A header naming the delivery, the same on retries (dedupe). Default: Ce-Id, webhook-id or Idempotency-Key. */
  deliveryHeader: string | undefined;
}

/** The settings of the pack; the defaults are CI_WEBHOOK_VARIABLES'. */
export interface CiWebhookConfig {
  /** CI_WEBHOOK_PORT: the port webhooks are served on (0 picks a free port). */
  port: number;
  /** CI_WEBHOOK_HOST: the bind address. */
  host: string;
  /** CI_WEBHOOK_MAX_BODY_BYTES: larger deliveries get 413 unread. At most 3 MiB (events carry the body, the bus takes 4 MiB). */
  maxBodyBytes: number;
  /** JOBSERV_WEBHOOK_SECRET: HMAC secrets of /webhooks/jobserv, comma-separated. Default: none (refused). */
  jobservSecrets: string[];
  /** GITHUB_WEBHOOK_SECRET: HMAC secrets of /webhooks/github, comma-separated. Default: none (refused). */
  githubSecrets: string[];
  /** GITLAB_WEBHOOK_TOKEN: accepted X-Gitlab-Token values, comma-separated. Default: none. */
  gitlabTokens: string[];
  /** GITLAB_WEBHOOK_SECRET: Standard-Webhooks signing keys (`whsec_<base64>`), comma-separated, decoded. Default: none. */
  gitlabSigningKeys: Buffer[];
  /** CI_WEBHOOK_GENERIC_CONFIG: a JSON file describing /webhooks/generic/<name> sources. Default: none. */
  generic: Record<string, GenericSourceConfig>;
  /** CI_WEBHOOK_DEDUPE_SECONDS: how long a delivery id is remembered. */
  dedupeWindowMs: number;
  /** CI_WEBHOOK_PUBLISH_TIMEOUT: seconds a delivery waits for the broker before the sender gets 503. */
  publishTimeoutMs: number;
  /** The HTTP command API, POST /v1/commands/<pack>/<Command> (command-api/command-api-config.ts). */
  commandApi: CommandApiConfig;
  /** /webhooks/cloudevents (cloudevents/cloudevents-config.ts). */
  cloudEvents: CloudEventsConfig;
  /** /webhooks/alertmanager (alertmanager/alertmanager-config.ts). */
  alertmanager: AlertmanagerConfig;
}

/** The pack's variables: its parser's defaults, `switchboard pack ci-webhook --help` and the README's table. */
export const CI_WEBHOOK_VARIABLES = defineVariables({
  CI_WEBHOOK_PORT: { defaultValue: 8080, meaning: 'port of the webhook endpoints (`0`: any free port)' },
  CI_WEBHOOK_HOST: { defaultValue: '0.0.0.0', meaning: 'bind address of the webhook endpoints' },
  JOBSERV_WEBHOOK_SECRET: {
    default: 'none: 403',
    meaning: 'HMAC secret of JobServ webhooks; several, comma-separated, during a rotation',
  },
  GITHUB_WEBHOOK_SECRET: {
    default: 'none: 403',
    meaning: 'the secret of GitHub webhooks (`X-Hub-Signature-256`); several allowed',
  },
  GITLAB_WEBHOOK_TOKEN: {
    default: 'none',
    meaning:
      'the `X-Gitlab-Token` value(s) of GitLab webhooks; GitLab is refused only when neither GitLab variable is set',
  },
  GITLAB_WEBHOOK_SECRET: {
    default: 'none',
    meaning: 'Standard-Webhooks signing key(s) of GitLab webhooks, `whsec_<base64>`',
  },
  CI_WEBHOOK_GENERIC_CONFIG: {
    default: 'none',
    meaning:
      'a JSON file of generic sources, `/webhooks/generic/<name>`, each with its HMAC secret or tokens',
  },
  CI_WEBHOOK_MAX_BODY_BYTES: { defaultValue: 1_048_576, meaning: 'larger bodies get 413 (at most 3 MiB)' },
  CI_WEBHOOK_DEDUPE_SECONDS: {
    defaultValue: 3600,
    meaning: 'how long a delivery is remembered (in memory) to answer its retries',
  },
  CI_WEBHOOK_PUBLISH_TIMEOUT: {
    defaultValue: 5,
    meaning: 'seconds a delivery waits for the broker before answering 503',
  },
  ...COMMAND_API_VARIABLE_SPECS,
  ...CLOUDEVENTS_VARIABLE_SPECS,
  ...ALERTMANAGER_VARIABLE_SPECS,
});

const V = CI_WEBHOOK_VARIABLES;

/** The variables of which at least one must be set for the pack to accept anything. */
const SOURCE_VARIABLES = [
  V.JOBSERV_WEBHOOK_SECRET.name,
  V.GITHUB_WEBHOOK_SECRET.name,
  V.GITLAB_WEBHOOK_TOKEN.name,
  V.GITLAB_WEBHOOK_SECRET.name,
  V.CI_WEBHOOK_GENERIC_CONFIG.name,
  ...COMMAND_API_RUN_VARIABLES,
  ...CLOUDEVENTS_RUN_VARIABLES,
  ...ALERTMANAGER_RUN_VARIABLES,
];

/** What `switchboard all` says when the pack is not configured: the secret of any one source runs it. */
export const CI_WEBHOOK_TO_RUN = `set ${SOURCE_VARIABLES.slice(0, -1).join(', ')} or ${SOURCE_VARIABLES.at(-1)}`;

/** True when at least one source has a secret (`switchboard all` starts the pack only then). */
export function ciWebhookConfigured(env: Env): boolean {
  return SOURCE_VARIABLES.some((variable) => Boolean(env[variable]?.trim()));
}

const MIB = 1024 * 1024;

export function parseCiWebhookConfig(env: Env): CiWebhookConfig {
  return {
    port: readInteger(env, V.CI_WEBHOOK_PORT, 0, 65_535),
    host: readText(env, V.CI_WEBHOOK_HOST),
    maxBodyBytes: readInteger(env, V.CI_WEBHOOK_MAX_BODY_BYTES, 1024, 3 * MIB),
    jobservSecrets: parseList(env.JOBSERV_WEBHOOK_SECRET),
    githubSecrets: parseList(env.GITHUB_WEBHOOK_SECRET),
    gitlabTokens: parseList(env.GITLAB_WEBHOOK_TOKEN),
    gitlabSigningKeys: parseList(env.GITLAB_WEBHOOK_SECRET).map((key) =>
      parseSigningKey('GITLAB_WEBHOOK_SECRET', key),
    ),
    generic: parseGenericConfig(readText(env, V.CI_WEBHOOK_GENERIC_CONFIG)),
    dedupeWindowMs: readInteger(env, V.CI_WEBHOOK_DEDUPE_SECONDS, 1, 7 * 86_400) * 1000,
    publishTimeoutMs: parseTimeout(env, V.CI_WEBHOOK_PUBLISH_TIMEOUT),
    commandApi: parseCommandApiConfig(env),
    cloudEvents: parseCloudEventsConfig(env),
    alertmanager: parseAlertmanagerConfig(env),
  };
}

/** `a, b,,c` -> [a, b, c]: several secrets are accepted at once so that one can be rotated without downtime. */
function parseList(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/** A Standard-Webhooks key: `whsec_` then base64 (the prefix may be left out). Never repeated in errors. */
function parseSigningKey(variable: string, value: string): Buffer {
  const base64 = value.startsWith('whsec_') ? value.slice('whsec_'.length) : value;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(base64) || base64.length % 4 !== 0) {
    throw new ConfigError(variable, 'each key must be whsec_ followed by base64, as GitLab shows it');
  }
  return Buffer.from(base64, 'base64');
}

/** Seconds, fractions allowed, as milliseconds. */
function parseTimeout(env: Env, variable: ConfigVariable<number>): number {
  const value = env[variable.name];
  if (value === undefined || value.trim() === '') return variable.defaultValue * 1000;
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 60) {
    throw new ConfigError(variable.name, `"${value}" is not a number of seconds above 0 and at most 60`);
  }
  return Math.round(seconds * 1000);
}

const GENERIC_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;

const secretList = {
  oneOf: [
    { type: 'string', minLength: 1 },
    { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
  ],
};

/** The file of CI_WEBHOOK_GENERIC_CONFIG: `{"<name>": {header, secret(s) | token(s), ...}}`. */
const GENERIC_FILE_SCHEMA = {
  type: 'object',
  propertyNames: { pattern: GENERIC_NAME.source },
  additionalProperties: {
    type: 'object',
    required: ['header'],
    properties: {
      header: { type: 'string', pattern: HEADER_NAME.source },
      secret: secretList,
      secrets: secretList,
      token: secretList,
      tokens: secretList,
      algorithm: { enum: ['sha256', 'sha512', 'sha1'] },
      prefix: { type: 'string' },
      encoding: { enum: ['hex', 'base64'] },
      deliveryHeader: { type: 'string', pattern: HEADER_NAME.source },
    },
    additionalProperties: false,
    oneOf: [
      { anyOf: [{ required: ['secret'] }, { required: ['secrets'] }] },
      { anyOf: [{ required: ['token'] }, { required: ['tokens'] }] },
    ],
  },
};

interface GenericFileEntry {
  header: string;
  secret?: string | string[];
  secrets?: string | string[];
  token?: string | string[];
  tokens?: string | string[];
  algorithm?: 'sha256' | 'sha512' | 'sha1';
  prefix?: string;
  encoding?: 'hex' | 'base64';
  deliveryHeader?: string;
}

function parseGenericConfig(path: string | undefined): Record<string, GenericSourceConfig> {
  const variable = 'CI_WEBHOOK_GENERIC_CONFIG';
  if (!path) return {};
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(variable, `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? error}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(variable, `${path} is not JSON: ${(error as Error).message}`);
  }
  const ajv = new Ajv({ allErrors: false, strict: false });
  const validate = ajv.compile<Record<string, GenericFileEntry>>(GENERIC_FILE_SCHEMA);
  if (!validate(parsed)) {
    // Only the location and the rule: the values may be secrets.
    const error = validate.errors?.[0];
    if (error?.propertyName !== undefined) {
      throw new ConfigError(
        variable,
        `${path}: the source name "${error.propertyName}" must be lower-case letters, digits, - and _`,
      );
    }
    const hint = ['oneOf', 'anyOf', 'required'].includes(error?.keyword ?? '')
      ? '; each source needs "header" and either "secret(s)" (HMAC) or "token(s)"'
      : '';
    throw new ConfigError(
      variable,
      `${path}: ${error?.instancePath || '(top level)'} ${error?.message ?? 'is invalid'}${hint}`,
    );
  }
  const sources: Record<string, GenericSourceConfig> = {};
  for (const [name, entry] of Object.entries(parsed)) {
    const header = entry.header.toLowerCase();
    const secrets = [entry.secret ?? [], entry.secrets ?? []].flat();
    const tokens = [entry.token ?? [], entry.tokens ?? []].flat();
    sources[name] = {
      auth:
        secrets.length > 0
          ? {
              kind: 'hmac',
              header,
              secrets,
              algorithm: entry.algorithm ?? 'sha256',
              prefix: entry.prefix ?? '',
              encoding: entry.encoding ?? 'hex',
            }
          : { kind: 'token', header, tokens },
      deliveryHeader: entry.deliveryHeader?.toLowerCase(),
    };
  }
  return sources;
}
