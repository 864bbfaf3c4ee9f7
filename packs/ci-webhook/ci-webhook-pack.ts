import { Counter, type Registry } from 'prom-client';
import { definePack, type PackDefinition } from '../../shared/runtime/pack-definition.ts';
import { ALERTMANAGER_EVENTS, alertmanagerSources } from './alertmanager/alertmanager-source.ts';
import { CI_WEBHOOK_EVENTS } from './build-events.ts';
import type { CiWebhookConfig } from './ci-webhook-config.ts';
import { CLOUDEVENTS_EVENTS, cloudeventsSources } from './cloudevents/cloudevents-source.ts';
import { startCommandApi } from './command-api/command-api.ts';
import { DeliveryLedger } from './delivery-ledger.ts';
import { genericSource } from './sources/generic.ts';
import { githubSource } from './sources/github.ts';
import { gitlabSource } from './sources/gitlab.ts';
import { jobservSource } from './sources/jobserv.ts';
import { type RequestCounter, startWebhookServer, type WebhookServer } from './webhook-server.ts';
import type { WebhookSource } from './webhook-source.ts';

export const CI_WEBHOOK_PACK_VERSION = '0.1.0';

const REQUESTS_METRIC = 'switchboard_ci_webhook_requests_total';

export interface CiWebhookPackOptions {
  /** Where the requests counter is registered. Default: the process's registry, served at /metrics. */
  registry?: Registry;
}

/** The pack, and where it listens once started. */
export type CiWebhookPack = PackDefinition & {
  /** `http://host:port` once started (the port actually bound, when CI_WEBHOOK_PORT is 0); else undefined. */
  readonly url: string | undefined;
};

/** Receives CI webhooks over HTTP, verifies them, and emits normalized build events; it takes no commands. */
export async function createCiWebhookPack(
  config: CiWebhookConfig,
  options: CiWebhookPackOptions = {},
): Promise<CiWebhookPack> {
  const sources = webhookSources(config);
  let server: WebhookServer | undefined;
  let commandApi: Awaited<ReturnType<typeof startCommandApi>> | undefined;

  const pack = definePack({
    name: 'ci-webhook',
    version: CI_WEBHOOK_PACK_VERSION,
    description: 'CI webhooks in (JobServ, GitHub, GitLab, generic), verified; normalized build events out.',
    commands: {},
    events: { ...CI_WEBHOOK_EVENTS, ...CLOUDEVENTS_EVENTS, ...ALERTMANAGER_EVENTS },
    async start(context) {
      commandApi = await startCommandApi(config.commandApi, context, {
        maxBodyBytes: config.maxBodyBytes,
        publishTimeoutMs: config.publishTimeoutMs,
        requests: requestCounter(options.registry ?? context.registry),
      });
      server = await startWebhookServer({
        routes: commandApi.routes,
        host: config.host,
        port: config.port,
        maxBodyBytes: config.maxBodyBytes,
        publishTimeoutMs: config.publishTimeoutMs,
        sources,
        ledger: new DeliveryLedger({ windowMs: config.dedupeWindowMs }),
        emit: context.emit,
        logger: context.logger,
        requests: requestCounter(options.registry ?? context.registry),
      }).catch((error: NodeJS.ErrnoException) => {
        throw new Error(
          `CI_WEBHOOK_PORT: cannot listen on ${config.host}:${config.port} (${error.code ?? error.message})`,
          { cause: error },
        );
      });
      const unconfigured = [...sources.values()].filter((source) => source.notConfigured);
      context.logger.info(
        {
          url: server.url,
          endpoints: [...sources.values()]
            .filter((source) => !source.notConfigured)
            .map((source) => `/webhooks/${source.name}`),
          refused: unconfigured.map((source) => `/webhooks/${source.name}`),
        },
        `receiving CI webhooks on ${server.url}/webhooks/`,
      );
    },
    async stop() {
      // The API first: it ends the waits still open, so closing the server need not wait for them.
      await commandApi?.stop();
      commandApi = undefined;
      await server?.close();
      server = undefined;
    },
  });
  return Object.defineProperty(pack, 'url', { get: () => server?.url, enumerable: true }) as CiWebhookPack;
}

function webhookSources(config: CiWebhookConfig): Map<string, WebhookSource> {
  const sources: WebhookSource[] = [
    jobservSource(config.jobservSecrets),
    githubSource(config.githubSecrets),
    gitlabSource({ tokens: config.gitlabTokens, signingKeys: config.gitlabSigningKeys }),
    ...Object.entries(config.generic).map(([name, generic]) => genericSource(name, generic)),
    ...cloudeventsSources(config.cloudEvents),
    ...alertmanagerSources(config.alertmanager),
  ];
  return new Map(sources.map((source) => [source.name, source]));
}

/** One counter per registry, so that a pack created twice in a process (tests) does not register it twice. */
function requestCounter(registry: Registry): RequestCounter {
  const existing = registry.getSingleMetric(REQUESTS_METRIC);
  if (existing) return existing as Counter<'source' | 'outcome'>;
  return new Counter({
    name: REQUESTS_METRIC,
    help: 'Webhook requests by source and outcome (accepted, duplicate, ignored, or why refused).',
    labelNames: ['source', 'outcome'] as const,
    registers: [registry],
  });
}
