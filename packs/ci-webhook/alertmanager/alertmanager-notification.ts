import { createHash } from 'node:crypto';
import { Ajv, type ErrorObject } from 'ajv';
import { toIsoTime } from '../build-events.ts';
import type { Interpretation, InterpretedEvent } from '../webhook-source.ts';
import type { AlertEvent, AlertGroupChangedEvent, StringMap } from './alertmanager-events.ts';

/**
 * Alertmanager's webhook body, version 4 (prometheus/alertmanager docs/configuration.md, `<webhook_config>`;
 * notify/webhook/webhook.go `Message`, template/template.go `Data` and `Alert`). Newer fields
 * (`notification_reason`, `routeLabels`) are allowed; unknown ones are ignored.
 */
interface Notification {
  version: '4';
  groupKey: string;
  status: 'firing' | 'resolved';
  receiver: string;
  groupLabels?: StringMap | null;
  commonLabels?: StringMap | null;
  commonAnnotations?: StringMap | null;
  externalURL?: string | null;
  truncatedAlerts?: number;
  notification_reason?: string | null;
  alerts: NotifiedAlert[];
}

interface NotifiedAlert {
  status: 'firing' | 'resolved';
  labels: StringMap;
  annotations?: StringMap | null;
  startsAt: string;
  endsAt?: string | null;
  generatorURL?: string | null;
  fingerprint: string;
}

// Go encodes a nil map as null, so the maps may be null as well as missing.
const optionalMap = { type: ['object', 'null'], additionalProperties: { type: 'string' } };
const status = { enum: ['firing', 'resolved'] };

const NOTIFICATION_SCHEMA = {
  type: 'object',
  required: ['version', 'groupKey', 'status', 'receiver', 'alerts'],
  properties: {
    version: { const: '4' },
    groupKey: { type: 'string', minLength: 1 },
    status,
    receiver: { type: 'string' },
    groupLabels: optionalMap,
    commonLabels: optionalMap,
    commonAnnotations: optionalMap,
    externalURL: { type: ['string', 'null'] },
    truncatedAlerts: { type: 'integer', minimum: 0 },
    notification_reason: { type: ['string', 'null'] },
    alerts: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        required: ['status', 'labels', 'startsAt', 'fingerprint'],
        properties: {
          status,
          labels: { type: 'object', additionalProperties: { type: 'string' } },
          annotations: optionalMap,
          startsAt: { type: 'string', minLength: 1 },
          endsAt: { type: ['string', 'null'] },
          generatorURL: { type: ['string', 'null'] },
          fingerprint: { type: 'string', minLength: 1 },
        },
      },
    },
  },
};

/** Reads a notification into its events; the schema is compiled once, when the source is made. */
export type NotificationReader = (payload: unknown) => Interpretation;

/**
 * One AlertGroupChanged, then one AlertFiring or AlertResolved per alert, each with a dedupe key (the
 * server prefixes `alertmanager:`; the event id derives from it, so the engine also recognizes a repeat
 * that comes after CI_WEBHOOK_DEDUPE_SECONDS):
 * - an alert: receiver + fingerprint + startsAt + status. Alertmanager repeats an unchanged group every
 *   repeat_interval and re-sends the whole group whenever one alert of it changes; each alert says
 *   something new only when it starts firing again (a new startsAt) or resolves. The receiver is in it so
 *   that one alert routed to two receivers (`continue: true`) reaches the flows of both.
 * - the group: the receiver and a digest of what the notification says about the group (groupKey, status,
 *   truncatedAlerts, and each alert's fingerprint, startsAt and status, in a fixed order). A retry after
 *   our 503, the same notification from the other replica of an HA pair (another externalURL), or a
 *   repeat of an unchanged group (another notification_reason, later endsAt) emit nothing new.
 */
export function notificationReader(): NotificationReader {
  const ajv = new Ajv({ allErrors: false, strict: false });
  const validate = ajv.compile<Notification>(NOTIFICATION_SCHEMA);
  return (payload) => {
    const version = (payload as { version?: unknown } | null)?.version;
    if (typeof payload === 'object' && payload !== null && version !== undefined && version !== '4') {
      return {
        kind: 'invalid',
        reason: `version ${JSON.stringify(version)} is not supported: this endpoint reads Alertmanager's webhook version "4"`,
      };
    }
    if (!validate(payload)) {
      return {
        kind: 'invalid',
        reason: `not an Alertmanager notification: ${describe(validate.errors?.[0])}`,
      };
    }
    const times: Array<{ startsAt: string; endsAt: string | null }> = [];
    for (const [index, alert] of payload.alerts.entries()) {
      const startsAt = alertTime(alert.startsAt);
      if (!startsAt) {
        return {
          kind: 'invalid',
          reason: `not an Alertmanager notification: alerts[${index}].startsAt is not an RFC 3339 time`,
        };
      }
      times.push({ startsAt, endsAt: alertTime(alert.endsAt) });
    }
    return { kind: 'events', events: interpret(payload, times) };
  };
}

function interpret(
  notification: Notification,
  times: Array<{ startsAt: string; endsAt: string | null }>,
): InterpretedEvent[] {
  const { receiver, groupKey } = notification;
  const externalURL = notification.externalURL || null;
  const alerts: AlertEvent[] = notification.alerts.map((alert, index) => {
    const annotations = alert.annotations ?? {};
    const time = times[index] as { startsAt: string; endsAt: string | null };
    return {
      alertname: alert.labels.alertname || null,
      status: alert.status,
      severity: alert.labels.severity || null,
      summary: annotations.summary || null,
      description: annotations.description || null,
      labels: alert.labels,
      annotations,
      startsAt: time.startsAt,
      // A firing alert's end is not exposed (alert/alert.go Alerts): Go's zero time, here null.
      endsAt: alert.status === 'resolved' ? time.endsAt : null,
      generatorURL: alert.generatorURL || null,
      fingerprint: alert.fingerprint,
      receiver,
      externalURL,
      groupKey,
    };
  });
  const group: AlertGroupChangedEvent = {
    groupKey,
    status: notification.status,
    receiver,
    groupLabels: notification.groupLabels ?? {},
    commonLabels: notification.commonLabels ?? {},
    commonAnnotations: notification.commonAnnotations ?? {},
    externalURL,
    firingCount: alerts.filter((alert) => alert.status === 'firing').length,
    resolvedCount: alerts.filter((alert) => alert.status === 'resolved').length,
    truncatedAlerts: notification.truncatedAlerts ?? 0,
    notificationReason: notification.notification_reason || null,
  };
  const who = encodeURIComponent(receiver);
  return [
    { event: 'AlertGroupChanged', payload: group, deliveryKey: `group:${who}:${groupDigest(group, alerts)}` },
    ...alerts.map(
      (alert): InterpretedEvent => ({
        event: alert.status === 'firing' ? 'AlertFiring' : 'AlertResolved',
        payload: alert,
        deliveryKey: `alert:${who}:${alert.fingerprint}:${alert.startsAt}:${alert.status}`,
      }),
    ),
  ];
}

/** What the notification says about its group, independent of the order of its alerts. */
function groupDigest(group: AlertGroupChangedEvent, alerts: readonly AlertEvent[]): string {
  const states = alerts.map((alert) => [alert.fingerprint, alert.startsAt, alert.status].join(' ')).sort();
  const content = JSON.stringify([group.groupKey, group.status, group.truncatedAlerts, states]);
  return createHash('sha256').update(content).digest('hex');
}

/** An RFC 3339 time as the pack writes times, or null for a missing one and Go's zero time (year 1). */
function alertTime(value: string | null | undefined): string | null {
  const time = toIsoTime(value);
  return time === null || new Date(time).getUTCFullYear() <= 1 ? null : time;
}

/** The first schema error, naming the field as in the body: `alerts[0].fingerprint must be string`. */
function describe(error: ErrorObject | undefined): string {
  if (!error) return 'the body does not match version 4';
  const path = error.instancePath
    .split('/')
    .slice(1)
    .map((part, index) => (/^\d+$/.test(part) ? `[${part}]` : index === 0 ? part : `.${part}`))
    .join('');
  if (error.keyword === 'required') {
    const missing = (error.params as { missingProperty: string }).missingProperty;
    return `${path ? `${path} has` : 'the body has'} no ${missing}`;
  }
  return `${path || 'the body'} ${error.message ?? 'is invalid'}`;
}
