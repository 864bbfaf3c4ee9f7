import { ConfigError, type Env } from '../../../shared/config.ts';
import type { VariableSpec } from '../../../shared/config-variables.ts';

/** The variables of /webhooks/cloudevents, in the order of `--help` and the README (CI_WEBHOOK_VARIABLES takes them). */
export const CLOUDEVENTS_VARIABLE_SPECS = {
  CLOUDEVENTS_TOKENS: {
    default: 'none: 403',
    meaning:
      'bearer tokens of `/webhooks/cloudevents` (`Authorization: Bearer` or `?access_token=`), comma-separated; several during a rotation',
  },
  CLOUDEVENTS_ALLOWED_ORIGINS: {
    default: 'none: OPTIONS gets 403',
    meaning:
      'senders (`WebHook-Request-Origin`) granted the CloudEvents Web Hook handshake, comma-separated; `*` for any',
  },
  TEKTON_DASHBOARD_URL: {
    default: 'none: `webUrl` is null',
    meaning:
      'the Tekton Dashboard, for the `webUrl` of Tekton builds (`<url>/#/namespaces/<ns>/pipelineruns/<name>`)',
  },
} as const satisfies Record<string, VariableSpec>;

/** Variables any one of which makes `switchboard all` start the pack. */
export const CLOUDEVENTS_RUN_VARIABLES: readonly string[] = ['CLOUDEVENTS_TOKENS'];

export interface CloudEventsConfig {
  /** CLOUDEVENTS_TOKENS: accepted bearer tokens. Default: none, and every delivery gets 403. */
  tokens: string[];
  /** CLOUDEVENTS_ALLOWED_ORIGINS: lower-case origins, or `*`. Default: none (every handshake gets 403). */
  allowedOrigins: string[];
  /** TEKTON_DASHBOARD_URL without its trailing slash. Default: undefined (Tekton builds have no webUrl). */
  tektonDashboardUrl: string | undefined;
}

export function parseCloudEventsConfig(env: Env): CloudEventsConfig {
  return {
    tokens: parseList(env.CLOUDEVENTS_TOKENS),
    allowedOrigins: parseList(env.CLOUDEVENTS_ALLOWED_ORIGINS).map((origin) => origin.toLowerCase()),
    tektonDashboardUrl: parseDashboardUrl(env.TEKTON_DASHBOARD_URL),
  };
}

function parseList(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

function parseDashboardUrl(value: string | undefined): string | undefined {
  const variable = 'TEKTON_DASHBOARD_URL';
  const text = value?.trim();
  if (!text) return undefined;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError(variable, 'is not a URL; say e.g. https://tekton.example.com');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(variable, `the dashboard is served over http or https, not ${url.protocol}`);
  }
  // The URL goes into every Tekton build event, where whoever reads the bus sees it.
  if (url.username || url.password) {
    throw new ConfigError(variable, 'must not carry credentials: every Tekton build event would show them');
  }
  if (url.search || url.hash) {
    throw new ConfigError(variable, 'is the dashboard address alone, without ?query or #fragment');
  }
  return url.href.replace(/\/+$/, '');
}
