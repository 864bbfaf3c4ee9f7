import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { notificationReader } from '../../../packs/ci-webhook/alertmanager/alertmanager-notification.ts';
import { ALERTMANAGER_EVENTS } from '../../../packs/ci-webhook/alertmanager/alertmanager-source.ts';
import type { Interpretation, InterpretedEvent } from '../../../packs/ci-webhook/webhook-source.ts';
// The shape of Alertmanager 0.32's webhook body (notify/webhook/webhook.go, template/template.go), field
// order and all: a group of two CPU alerts firing, then the same group with one of them resolved.
import firing from './fixtures/alertmanager/firing.json' with { type: 'json' };
import oneResolved from './fixtures/alertmanager/one-resolved.json' with { type: 'json' };

const ajv = new Ajv({ allErrors: true });
addFormats.default(ajv);
const validators = Object.fromEntries(
  Object.entries(ALERTMANAGER_EVENTS).map(([name, event]) => [name, ajv.compile(event.schema)]),
);

const read = notificationReader();

/** The events of a notification, each checked against the schema the pack announces for it. */
function eventsOf(payload: unknown): InterpretedEvent[] {
  const result = read(payload);
  assert.equal(result.kind, 'events', JSON.stringify(result));
  if (result.kind !== 'events') throw new Error('unreachable');
  for (const { event, payload } of result.events) {
    const validate = validators[event];
    assert.ok(validate, event);
    assert.ok(validate(payload), `${event}: ${ajv.errorsText(validate.errors)}`);
  }
  return result.events;
}

function keysOf(payload: unknown): string[] {
  return eventsOf(payload).map((event) => event.deliveryKey ?? 'none');
}

function reasonOf(result: Interpretation): string {
  assert.equal(result.kind, 'invalid', JSON.stringify(result));
  return result.kind === 'invalid' ? result.reason : '';
}

const clone = <T>(value: T): T => structuredClone(value);

describe('an Alertmanager notification', () => {
  test('is one AlertGroupChanged, then one AlertFiring per alert, with what a flow needs', () => {
    const events = eventsOf(firing);
    assert.deepEqual(
      events.map((event) => event.event),
      ['AlertGroupChanged', 'AlertFiring', 'AlertFiring'],
    );
    assert.deepEqual(events[0]?.payload, {
      groupKey: '{}/{team="infra"}:{alertname="HostHighCpuLoad"}',
      status: 'firing',
      receiver: 'switchboard',
      groupLabels: { alertname: 'HostHighCpuLoad' },
      commonLabels: { alertname: 'HostHighCpuLoad', job: 'node', severity: 'critical', team: 'infra' },
      commonAnnotations: { runbook_url: 'https://runbooks.example.com/HostHighCpuLoad' },
      externalURL: 'http://alertmanager.example.com:9093',
      firingCount: 2,
      resolvedCount: 0,
      truncatedAlerts: 0,
      notificationReason: 'first notification',
    });
    assert.deepEqual(events[1]?.payload, {
      alertname: 'HostHighCpuLoad',
      status: 'firing',
      severity: 'critical',
      summary: 'CPU above 80% on node-1.example.com:9100',
      description: 'CPU load on node-1.example.com:9100 is 93% (above 80% for 5 minutes).',
      labels: firing.alerts[0]?.labels,
      annotations: firing.alerts[0]?.annotations,
      startsAt: '2026-03-02T09:14:07.519Z',
      // Alertmanager sends Go's zero time for the end of a firing alert.
      endsAt: null,
      generatorURL: firing.alerts[0]?.generatorURL,
      fingerprint: '4a9c2e6f3b1d7a05',
      receiver: 'switchboard',
      externalURL: 'http://alertmanager.example.com:9093',
      groupKey: '{}/{team="infra"}:{alertname="HostHighCpuLoad"}',
    });
    assert.match(String(events[1]?.payload.generatorURL), /&g0\.tab=1$/);
  });

  test('a resolved alert is AlertResolved with its end; the alert still firing says nothing new', () => {
    const before = eventsOf(firing);
    const after = eventsOf(oneResolved);
    assert.deepEqual(
      after.map((event) => event.event),
      ['AlertGroupChanged', 'AlertResolved', 'AlertFiring'],
    );
    const resolved = after[1]?.payload as Record<string, unknown>;
    assert.equal(resolved.fingerprint, '4a9c2e6f3b1d7a05');
    assert.equal(resolved.endsAt, '2026-03-02T09:41:22.519Z');
    assert.equal(after[0]?.payload.resolvedCount, 1);
    assert.notEqual(after[0]?.deliveryKey, before[0]?.deliveryKey, 'the group changed');
    assert.notEqual(after[1]?.deliveryKey, before[1]?.deliveryKey, 'node-1 resolved');
    // node-2's description changed (annotations are rendered anew), but it still fires since the same time.
    assert.equal(after[2]?.deliveryKey, before[2]?.deliveryKey);
  });

  test('a repeat of the same group (repeat_interval, the other HA replica, another order) has the same keys', () => {
    const repeat = clone(firing);
    repeat.notification_reason = 'repeat interval elapsed';
    repeat.externalURL = 'http://alertmanager-1.example.com:9093';
    repeat.alerts.reverse();
    const keys = keysOf(repeat);
    assert.deepEqual(keys.slice(1).sort(), keysOf(firing).slice(1).sort());
    assert.equal(keys[0], keysOf(firing)[0]);
  });

  test('an alert that fires again after resolving, or for another receiver, is new', () => {
    const [group, node1] = keysOf(firing);
    const again = clone(firing);
    (again.alerts[0] as { startsAt: string }).startsAt = '2026-03-02T11:02:07.519223116Z';
    const [groupAgain, node1Again] = keysOf(again);
    assert.notEqual(node1Again, node1);
    assert.notEqual(groupAgain, group);

    const otherReceiver = clone(firing);
    otherReceiver.receiver = 'oncall';
    const [groupOther, node1Other] = keysOf(otherReceiver);
    assert.notEqual(node1Other, node1);
    assert.notEqual(groupOther, group);
  });

  test('maps that Go sends as null, and empty strings, become {} and null', () => {
    const sparse = clone(firing) as Record<string, unknown> & { alerts: Array<Record<string, unknown>> };
    sparse.groupLabels = null;
    sparse.commonAnnotations = null;
    sparse.externalURL = '';
    delete sparse.notification_reason;
    delete sparse.truncatedAlerts;
    const alert = sparse.alerts[0] as Record<string, unknown>;
    alert.annotations = null;
    alert.generatorURL = '';
    alert.labels = { alertname: 'Watchdog' };
    const [group, first] = eventsOf(sparse);
    assert.deepEqual(group?.payload.groupLabels, {});
    assert.equal(group?.payload.externalURL, null);
    assert.equal(group?.payload.notificationReason, null);
    assert.equal(group?.payload.truncatedAlerts, 0);
    assert.deepEqual(first?.payload.annotations, {});
    assert.equal(first?.payload.summary, null);
    assert.equal(first?.payload.severity, null);
    assert.equal(first?.payload.generatorURL, null);
  });

  test('what is not version 4 of the shape is refused, naming the field', () => {
    const cases: Array<[string, unknown, RegExp]> = [
      ['an array', [firing], /the body must be object/],
      ['version 5', { ...firing, version: '5' }, /version "5" is not supported/],
      ['no version', { ...firing, version: undefined }, /the body has no version/],
      ['no groupKey', { ...firing, groupKey: undefined }, /the body has no groupKey/],
      ['a pending status', { ...firing, status: 'pending' }, /status must be equal to one of/],
      ['no alerts', { ...firing, alerts: [] }, /alerts must NOT have fewer than 1 items/],
      [
        'a numeric fingerprint',
        { ...firing, alerts: [firing.alerts[0], { ...firing.alerts[1], fingerprint: 42 }] },
        /alerts\[1\]\.fingerprint must be string/,
      ],
      [
        'a label that is not a string',
        { ...firing, alerts: [{ ...firing.alerts[0], labels: { alertname: 'X', cpu: 93 } }] },
        /alerts\[0\]\.labels\.cpu must be string/,
      ],
      [
        'no startsAt',
        { ...firing, alerts: [{ ...firing.alerts[0], startsAt: undefined }] },
        /alerts\[0\] has no startsAt/,
      ],
      [
        'a startsAt that is no time',
        { ...firing, alerts: [{ ...firing.alerts[0], startsAt: 'yesterday' }] },
        /alerts\[0\]\.startsAt is not an RFC 3339 time/,
      ],
    ];
    for (const [name, payload, reason] of cases) {
      // JSON, as the server parses it: undefined fields are gone.
      assert.match(reasonOf(read(JSON.parse(JSON.stringify(payload)))), reason, name);
    }
  });
});
