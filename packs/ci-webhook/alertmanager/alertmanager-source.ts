import type { EventDefinition } from '../../../shared/runtime/pack-definition.ts';
import type { WebhookSource } from '../webhook-source.ts';
import type { AlertmanagerConfig } from './alertmanager-config.ts';

// Being built (issue 14, Alertmanager): the events it emits and its /webhooks/ source.

export const ALERTMANAGER_EVENTS = {} as const satisfies Record<string, EventDefinition>;

export function alertmanagerSources(_config: AlertmanagerConfig): WebhookSource[] {
  return [];
}
