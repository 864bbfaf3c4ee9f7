import { headerValue, type WebhookSource } from '../webhook-source.ts';
import { verifyAlertmanagerAuthorization } from './alertmanager-auth.ts';
import type { AlertmanagerConfig } from './alertmanager-config.ts';
import { notificationReader } from './alertmanager-notification.ts';

export { ALERTMANAGER_EVENTS } from './alertmanager-events.ts';

/** /webhooks/alertmanager: Prometheus Alertmanager's webhook receiver (docs/alertmanager.md). */
export function alertmanagerSources(config: AlertmanagerConfig): WebhookSource[] {
  return [alertmanagerSource(config.tokens)];
}

/**
 * Alertmanager signs nothing: the receiver's `http_config` proves who sends, with a Bearer token or Basic
 * credentials whose password is one of `tokens`. Without a token everything is refused (403).
 */
export function alertmanagerSource(tokens: readonly string[]): WebhookSource {
  const read = notificationReader();
  return {
    name: 'alertmanager',
    notConfigured:
      tokens.length === 0 ? 'no Alertmanager token is configured: set ALERTMANAGER_WEBHOOK_TOKEN' : undefined,
    verify: (headers) => verifyAlertmanagerAuthorization(headerValue(headers, 'authorization'), tokens),
    interpret: (_headers, payload) => read(payload),
  };
}
