import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  CI_WEBHOOK_TO_RUN,
  CI_WEBHOOK_VARIABLES,
  ciWebhookConfigured,
  parseCiWebhookConfig,
} from '../../../packs/ci-webhook/ci-webhook-config.ts';
import { formatRate } from '../../../packs/ci-webhook/command-api/command-api-config.ts';
import { ConfigError } from '../../../shared/config.ts';
import { defaultValues } from '../../../shared/config-variables.ts';

const directory = mkdtempSync(join(tmpdir(), 'ci-webhook-config-'));

function file(name: string, content: unknown): string {
  const path = join(directory, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

test('defaults: port 8080 on every interface, 1 MiB bodies, one hour of dedupe, 5 s for the broker', () => {
  const config = parseCiWebhookConfig({});
  assert.equal(config.port, 8080);
  assert.equal(config.host, '0.0.0.0');
  assert.equal(config.maxBodyBytes, 1024 * 1024);
  assert.equal(config.dedupeWindowMs, 3_600_000);
  assert.equal(config.publishTimeoutMs, 5000);
  assert.deepEqual(config.jobservSecrets, []);
  assert.deepEqual(config.generic, {});
});

test('secrets are comma-separated lists, so that one can be rotated without downtime', () => {
  const config = parseCiWebhookConfig({
    JOBSERV_WEBHOOK_SECRET: 'new, old',
    GITHUB_WEBHOOK_SECRET: 'gh',
    GITLAB_WEBHOOK_TOKEN: 'a,,b',
    GITLAB_WEBHOOK_SECRET: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    CI_WEBHOOK_PUBLISH_TIMEOUT: '0.5',
  });
  assert.deepEqual(config.jobservSecrets, ['new', 'old']);
  assert.deepEqual(config.githubSecrets, ['gh']);
  assert.deepEqual(config.gitlabTokens, ['a', 'b']);
  assert.deepEqual(config.gitlabSigningKeys, [Buffer.from('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'base64')]);
  assert.equal(config.publishTimeoutMs, 500);
});

test('configured once any source has a secret', () => {
  assert.equal(ciWebhookConfigured({}), false);
  assert.equal(ciWebhookConfigured({ CI_WEBHOOK_PORT: '9000', GITHUB_WEBHOOK_SECRET: ' ' }), false);
  assert.equal(ciWebhookConfigured({ GITHUB_WEBHOOK_SECRET: 'gh' }), true);
  assert.equal(ciWebhookConfigured({ CI_WEBHOOK_GENERIC_CONFIG: '/etc/sources.json' }), true);
});

test('generic sources: HMAC with prefix, or tokens; header names lower-cased', () => {
  const path = file('generic.json', {
    jenkins: { header: 'X-Jenkins-Signature', secret: 'j', prefix: 'sha256=' },
    tekton: { header: 'X-Webhook-Token', tokens: ['t1', 't2'], deliveryHeader: 'Ce-Id' },
  });
  const { generic } = parseCiWebhookConfig({ CI_WEBHOOK_GENERIC_CONFIG: path });
  assert.deepEqual(generic, {
    jenkins: {
      auth: {
        kind: 'hmac',
        header: 'x-jenkins-signature',
        secrets: ['j'],
        algorithm: 'sha256',
        prefix: 'sha256=',
        encoding: 'hex',
      },
      deliveryHeader: undefined,
    },
    tekton: {
      auth: { kind: 'token', header: 'x-webhook-token', tokens: ['t1', 't2'] },
      deliveryHeader: 'ce-id',
    },
  });
});

test('every bad value is refused with the name of its variable, and no secret in the message', () => {
  const cases: Array<[Record<string, string>, string, RegExp]> = [
    [{ CI_WEBHOOK_PORT: '70000' }, 'CI_WEBHOOK_PORT', /from 0 to 65535/],
    [{ CI_WEBHOOK_MAX_BODY_BYTES: '10000000' }, 'CI_WEBHOOK_MAX_BODY_BYTES', /whole number/],
    [{ CI_WEBHOOK_DEDUPE_SECONDS: '0' }, 'CI_WEBHOOK_DEDUPE_SECONDS', /whole number/],
    [{ CI_WEBHOOK_PUBLISH_TIMEOUT: 'soon' }, 'CI_WEBHOOK_PUBLISH_TIMEOUT', /seconds/],
    [{ GITLAB_WEBHOOK_SECRET: 'whsec_not base64!' }, 'GITLAB_WEBHOOK_SECRET', /whsec_/],
    [
      { CI_WEBHOOK_GENERIC_CONFIG: join(directory, 'missing.json') },
      'CI_WEBHOOK_GENERIC_CONFIG',
      /cannot read/,
    ],
    [{ CI_WEBHOOK_GENERIC_CONFIG: file('bad.json', '{') }, 'CI_WEBHOOK_GENERIC_CONFIG', /not JSON/],
    [
      {
        CI_WEBHOOK_GENERIC_CONFIG: file('both.json', {
          x: { header: 'h', secret: 'hunter2', token: 'hunter2' },
        }),
      },
      'CI_WEBHOOK_GENERIC_CONFIG',
      /\/x .*either "secret\(s\)"/,
    ],
    [
      { CI_WEBHOOK_GENERIC_CONFIG: file('neither.json', { x: { header: 'h' } }) },
      'CI_WEBHOOK_GENERIC_CONFIG',
      /\/x/,
    ],
    [
      { CI_WEBHOOK_GENERIC_CONFIG: file('name.json', { 'Bad Name': { header: 'h', token: 'hunter2' } }) },
      'CI_WEBHOOK_GENERIC_CONFIG',
      /source name "Bad Name" must be lower-case/,
    ],
    [
      {
        CI_WEBHOOK_GENERIC_CONFIG: file('algo.json', {
          x: { header: 'h', secret: 'hunter2', algorithm: 'md5' },
        }),
      },
      'CI_WEBHOOK_GENERIC_CONFIG',
      /\/x\/algorithm/,
    ],
  ];
  for (const [env, variable, message] of cases) {
    assert.throws(
      () => parseCiWebhookConfig(env),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.variable === variable &&
        message.test(error.message) &&
        !error.message.includes('hunter2'),
      `${variable}=${Object.values(env)[0]}`,
    );
  }
});

test('unset variables take the defaults of the definitions that --help and the README show', () => {
  const config = parseCiWebhookConfig({});
  assert.deepEqual(
    {
      CI_WEBHOOK_PORT: config.port,
      CI_WEBHOOK_HOST: config.host,
      CI_WEBHOOK_MAX_BODY_BYTES: config.maxBodyBytes,
      CI_WEBHOOK_DEDUPE_SECONDS: config.dedupeWindowMs / 1000,
      CI_WEBHOOK_PUBLISH_TIMEOUT: config.publishTimeoutMs / 1000,
      SWITCHBOARD_API_RATE: formatRate(config.commandApi.rate),
    },
    defaultValues(CI_WEBHOOK_VARIABLES),
  );
});

/** The variables a sentence names. */
function namesIn(sentence: string): string[] {
  return [...new Set(sentence.match(/\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b/g) ?? [])].sort();
}

test('the "not configured" line names the secret of each source, any one of which runs the pack', () => {
  const ways = [
    { JOBSERV_WEBHOOK_SECRET: 'j' },
    { GITHUB_WEBHOOK_SECRET: 'gh' },
    { GITLAB_WEBHOOK_TOKEN: 'gl' },
    { GITLAB_WEBHOOK_SECRET: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' },
    { CI_WEBHOOK_GENERIC_CONFIG: file('to-run.json', { jenkins: { header: 'X-Signature', secret: 's' } }) },
    { CLOUDEVENTS_TOKENS: 'ce' },
    { ALERTMANAGER_WEBHOOK_TOKEN: 'am' },
    { SWITCHBOARD_API_TOKENS: '{"0123456789abcdef0123": {"name": "ci", "allow": ["*"]}}' },
  ];
  assert.deepEqual(namesIn(CI_WEBHOOK_TO_RUN), [...new Set(ways.flatMap(Object.keys))].sort());
  for (const env of ways) {
    assert.ok(ciWebhookConfigured(env), JSON.stringify(env));
    parseCiWebhookConfig(env);
  }
  for (const name of namesIn(CI_WEBHOOK_TO_RUN)) assert.ok(name in CI_WEBHOOK_VARIABLES, name);
});
