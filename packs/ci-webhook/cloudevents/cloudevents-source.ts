import type { EventDefinition } from '../../../shared/runtime/pack-definition.ts';
import type { WebhookSource } from '../webhook-source.ts';
import type { CloudEventsConfig } from './cloudevents-config.ts';

// Being built (issue 14, CloudEvents): the events it emits and its /webhooks/ source.

export const CLOUDEVENTS_EVENTS = {} as const satisfies Record<string, EventDefinition>;

export function cloudeventsSources(_config: CloudEventsConfig): WebhookSource[] {
  return [];
}
