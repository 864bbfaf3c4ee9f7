import type { EventDefinition, JsonSchema } from '../../../shared/runtime/pack-definition.ts';

/** Label or annotation names to their values, as Alertmanager sends them (Go's map[string]string). */
export type StringMap = Record<string, string>;

/** One alert of a notification: AlertFiring or AlertResolved. Fields Alertmanager leaves empty are null. */
export type AlertEvent = {
  /** The `alertname` label: the Prometheus rule's name. */
  alertname: string | null;
  status: 'firing' | 'resolved';
  /** The `severity` label (`critical`, `warning`, ... whatever the rules say). */
  severity: string | null;
  /** The `summary` and `description` annotations. */
  summary: string | null;
  description: string | null;
  labels: StringMap;
  annotations: StringMap;
  /** RFC 3339. `endsAt` is null while the alert fires (Alertmanager sends Go's zero time then). */
  startsAt: string;
  endsAt: string | null;
  /** The page of what raised it (the Prometheus graph of the rule's expression). */
  generatorURL: string | null;
  /** Alertmanager's id of the alert, a hash of its labels. */
  fingerprint: string;
  /** Of the notification that carried it. */
  receiver: string;
  externalURL: string | null;
  groupKey: string;
};

/** One notification, whatever its alerts: AlertGroupChanged. */
export type AlertGroupChangedEvent = {
  groupKey: string;
  /** `firing` while any alert of the group fires. */
  status: 'firing' | 'resolved';
  receiver: string;
  groupLabels: StringMap;
  commonLabels: StringMap;
  commonAnnotations: StringMap;
  /** Alertmanager's own address, for a link back to it. */
  externalURL: string | null;
  /** How many of the notification's alerts fire, and how many are resolved. */
  firingCount: number;
  resolvedCount: number;
  /** Alerts left out by the receiver's `max_alerts`. */
  truncatedAlerts: number;
  /** Why Alertmanager sent it (Alertmanager 0.32 and later: `first notification`, `repeat interval elapsed`, ...), or null. */
  notificationReason: string | null;
};

const stringMap: JsonSchema = { type: 'object', additionalProperties: { type: 'string' } };
const nullableString: JsonSchema = { type: ['string', 'null'] };
const alertStatus: JsonSchema = { enum: ['firing', 'resolved'] };

const ALERT_PROPERTIES = {
  alertname: nullableString,
  status: alertStatus,
  severity: nullableString,
  summary: nullableString,
  description: nullableString,
  labels: stringMap,
  annotations: stringMap,
  startsAt: { type: 'string', format: 'date-time' },
  endsAt: { type: ['string', 'null'], format: 'date-time' },
  generatorURL: nullableString,
  fingerprint: { type: 'string', minLength: 1 },
  receiver: { type: 'string' },
  externalURL: nullableString,
  groupKey: { type: 'string', minLength: 1 },
} satisfies Record<keyof AlertEvent, JsonSchema>;

export const ALERT_EVENT_SCHEMA: JsonSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  type: 'object',
  required: Object.keys(ALERT_PROPERTIES),
  properties: ALERT_PROPERTIES,
  additionalProperties: false,
};

const GROUP_PROPERTIES = {
  groupKey: { type: 'string', minLength: 1 },
  status: alertStatus,
  receiver: { type: 'string' },
  groupLabels: stringMap,
  commonLabels: stringMap,
  commonAnnotations: stringMap,
  externalURL: nullableString,
  firingCount: { type: 'integer', minimum: 0 },
  resolvedCount: { type: 'integer', minimum: 0 },
  truncatedAlerts: { type: 'integer', minimum: 0 },
  notificationReason: nullableString,
} satisfies Record<keyof AlertGroupChangedEvent, JsonSchema>;

export const ALERT_GROUP_CHANGED_SCHEMA: JsonSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  type: 'object',
  required: Object.keys(GROUP_PROPERTIES),
  properties: GROUP_PROPERTIES,
  additionalProperties: false,
};

export const ALERTMANAGER_EVENTS = {
  AlertFiring: {
    description:
      'An alert from Alertmanager (POST /webhooks/alertmanager) started firing: its name, severity, summary, labels, annotations and link. Once per firing, however often Alertmanager repeats it.',
    schema: ALERT_EVENT_SCHEMA,
  },
  AlertResolved: {
    description:
      'An alert from Alertmanager is resolved (the receiver has send_resolved, the default): the same fields as AlertFiring, with endsAt.',
    schema: ALERT_EVENT_SCHEMA,
  },
  AlertGroupChanged: {
    description:
      'An Alertmanager notification that says something new about its group: group key and labels, common labels and annotations, how many alerts fire and how many are resolved.',
    schema: ALERT_GROUP_CHANGED_SCHEMA,
  },
} as const satisfies Record<string, EventDefinition>;
