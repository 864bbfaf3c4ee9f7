import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { NOTIFY_TO_RUN, NOTIFY_VARIABLES, parseNotifyConfig } from '../../../packs/notify/notify-config.ts';
import { ConfigError } from '../../../shared/config.ts';
import { defaultValues } from '../../../shared/config-variables.ts';

test('unset variables take the defaults of the definitions that --help and the README show', () => {
  const config = parseNotifyConfig({});
  assert.deepEqual(
    { NOTIFY_DELIVERY_TIMEOUT: config.deliveryTimeoutMs / 1000 },
    defaultValues(NOTIFY_VARIABLES),
  );
  // Unset: the pack looks for audiences.json (.yaml, .yml) in the flows directory.
  assert.equal(config.audiencesFile, undefined);
  assert.equal(config.flowsDir, resolve('flows'));
});

test('the audiences file and the delivery timeout are read, and a bad timeout is refused by name', () => {
  const config = parseNotifyConfig({ NOTIFY_AUDIENCES: ' groups.yaml ', NOTIFY_DELIVERY_TIMEOUT: '5' });
  assert.equal(config.audiencesFile, resolve('groups.yaml'));
  assert.equal(config.deliveryTimeoutMs, 5000);
  assert.throws(
    () => parseNotifyConfig({ NOTIFY_DELIVERY_TIMEOUT: '0' }),
    (error: unknown) => error instanceof ConfigError && error.variable === 'NOTIFY_DELIVERY_TIMEOUT',
  );
});

test('the pack needs nothing to run, so no "not configured" line', () => {
  assert.equal(NOTIFY_TO_RUN, undefined);
});
