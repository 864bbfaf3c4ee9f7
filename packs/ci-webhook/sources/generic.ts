import type { IncomingHttpHeaders } from 'node:http';
import type { WebhookReceived } from '../build-events.ts';
import type { GenericSourceConfig } from '../ci-webhook-config.ts';
import { verifyHmac, verifyToken } from '../signatures.ts';
import { headerValue, type WebhookSource } from '../webhook-source.ts';

/** Headers that name a delivery the same way on every retry: CloudEvents (Tekton), Standard Webhooks, IETF. */
const DELIVERY_HEADERS = ['ce-id', 'webhook-id', 'idempotency-key'];

/** Header names that may carry a credential; never passed on, whatever the source. */
const CREDENTIAL_HEADER =
  /authorization|cookie|signature|(^|-)sig($|-)|token|secret|password|api-?key|session/i;
/** Hop-by-hop headers: about this connection, not the delivery. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'te', 'upgrade', 'trailer']);

/**
 * `/webhooks/generic/<name>`: any JSON, authenticated by an HMAC header or a token as configured, emitted
 * as WebhookReceived. Tekton's CloudEvents come this way; their `ce-*` headers are kept.
 */
export function genericSource(name: string, config: GenericSourceConfig): WebhookSource {
  const { auth } = config;
  return {
    name: `generic/${name}`,
    notConfigured: undefined,
    verify: (headers, body) =>
      auth.kind === 'hmac'
        ? verifyHmac({
            header: auth.header,
            presented: headerValue(headers, auth.header),
            body,
            secrets: auth.secrets,
            algorithm: auth.algorithm,
            prefix: auth.prefix,
            encoding: auth.encoding,
          })
        : verifyToken(auth.header, headerValue(headers, auth.header), auth.tokens),
    interpret(headers: IncomingHttpHeaders, payload: unknown) {
      const event: WebhookReceived = { name, headers: safeHeaders(headers, auth.header), payload };
      // Without a delivery id every delivery is new: two identical bodies may well be two events.
      const names = config.deliveryHeader ? [config.deliveryHeader] : DELIVERY_HEADERS;
      const deliveryId = names.map((header) => headerValue(headers, header)).find(Boolean);
      return { kind: 'event', event: 'WebhookReceived', payload: event, deliveryKey: deliveryId };
    },
  };
}

/** The headers a flow may read: lower-case, credentials and hop-by-hop headers left out. */
export function safeHeaders(headers: IncomingHttpHeaders, authHeader: string): Record<string, string> {
  const safe: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || name === authHeader || HOP_BY_HOP.has(name) || CREDENTIAL_HEADER.test(name)) {
      continue;
    }
    safe[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return safe;
}
