import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { verifyHmac, verifyStandardWebhook, verifyToken } from '../../../packs/ci-webhook/signatures.ts';
import { genericSource } from '../../../packs/ci-webhook/sources/generic.ts';
import { githubSource } from '../../../packs/ci-webhook/sources/github.ts';
import { gitlabSource } from '../../../packs/ci-webhook/sources/gitlab.ts';
import { jobservSource } from '../../../packs/ci-webhook/sources/jobserv.ts';

// Check vectors of ../shared/reference/apis.md ("CI webhooks").
const JOBSERV = {
  secret: 's3cret',
  body: Buffer.from('{"build_id": 67, "status": "PASSED"}'),
  signature: 'sha256:48551dbc130255e27c184f8e2b3299061c7e2b48512b2ff4496ee56a8d7ec40e',
};
const GITHUB = {
  secret: "It's a Secret to Everybody",
  body: Buffer.from('Hello, World!'),
  signature: 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17',
};
// The Standard Webhooks specification's example (standard-webhooks/standard-webhooks, spec and libraries' tests).
const STANDARD = {
  key: Buffer.from('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'base64'),
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: '1614265330',
  body: Buffer.from('{"test": 2432232314}'),
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};
const STANDARD_NOW = 1614265330 * 1000;

const jobserv = jobservSource([JOBSERV.secret]);
const github = githubSource([GITHUB.secret]);

function flipLastHexDigit(signature: string): string {
  const last = signature.at(-1) === '0' ? '1' : '0';
  return signature.slice(0, -1) + last;
}

describe('JobServ X-JobServ-Sig', () => {
  const verify = (signature: string | undefined, body = JOBSERV.body) =>
    jobserv.verify(signature === undefined ? {} : { 'x-jobserv-sig': signature }, body, Date.now());

  test('the check vector verifies', () => {
    assert.deepEqual(verify(JOBSERV.signature), { ok: true });
  });

  test('a flipped byte in the body or the signature, a truncated signature, a wrong prefix, no header: refused', () => {
    const flippedBody = Buffer.from(JOBSERV.body);
    flippedBody[2] = (flippedBody[2] as number) ^ 1;
    const cases: Array<[string, ReturnType<typeof verify>]> = [
      ['flipped body byte', verify(JOBSERV.signature, flippedBody)],
      ['flipped signature digit', verify(flipLastHexDigit(JOBSERV.signature))],
      ['truncated signature', verify(JOBSERV.signature.slice(0, -2))],
      ['GitHub prefix', verify(JOBSERV.signature.replace('sha256:', 'sha256='))],
      ['no prefix', verify(JOBSERV.signature.slice('sha256:'.length))],
      ['empty header', verify('')],
      ['missing header', verify(undefined)],
    ];
    for (const [name, result] of cases) assert.equal(result.ok, false, name);
    assert.deepEqual(verify(undefined), { ok: false, reason: 'missing X-JobServ-Sig header' });
    assert.deepEqual(verify(JOBSERV.signature.replace('sha256:', 'sha1:')), {
      ok: false,
      reason: 'X-JobServ-Sig does not start with "sha256:"',
    });
  });

  test('any of several secrets verifies (rotation); reasons never repeat the secret or the signature', () => {
    const rotating = jobservSource(['new-secret', JOBSERV.secret]);
    assert.deepEqual(rotating.verify({ 'x-jobserv-sig': JOBSERV.signature }, JOBSERV.body, 0), { ok: true });
    const refused = jobservSource(['new-secret']).verify(
      { 'x-jobserv-sig': JOBSERV.signature },
      JOBSERV.body,
      0,
    );
    assert.equal(refused.ok, false);
    const reason = refused.ok ? '' : refused.reason;
    assert.ok(!reason.includes('new-secret') && !reason.includes(JOBSERV.signature.slice(7, 20)), reason);
  });
});

describe('GitHub X-Hub-Signature-256', () => {
  const verify = (signature: string | undefined, body = GITHUB.body) =>
    github.verify(signature === undefined ? {} : { 'x-hub-signature-256': signature }, body, Date.now());

  test('the check vector verifies', () => {
    assert.deepEqual(verify(GITHUB.signature), { ok: true });
  });

  test('tampering and malformed signatures are refused', () => {
    assert.equal(verify(GITHUB.signature, Buffer.from('Hello, World?')).ok, false);
    assert.equal(verify(flipLastHexDigit(GITHUB.signature)).ok, false);
    assert.equal(verify(GITHUB.signature.slice(0, 40)).ok, false);
    assert.equal(verify(`${GITHUB.signature}00`).ok, false);
    assert.equal(verify(GITHUB.signature.replace('sha256=', 'sha1=')).ok, false);
    assert.equal(verify(GITHUB.signature.replace(/[0-9a-f]$/, 'z')).ok, false);
    assert.deepEqual(verify(undefined), { ok: false, reason: 'missing X-Hub-Signature-256 header' });
  });
});

describe('tokens', () => {
  test('only an exact token passes, whatever its length', () => {
    assert.deepEqual(verifyToken('X-Gitlab-Token', 'glt-secret', ['old', 'glt-secret']), { ok: true });
    assert.equal(verifyToken('X-Gitlab-Token', 'glt-secre', ['glt-secret']).ok, false);
    assert.equal(verifyToken('X-Gitlab-Token', 'glt-secret ', ['glt-secret']).ok, false);
    assert.equal(verifyToken('X-Gitlab-Token', 'GLT-SECRET', ['glt-secret']).ok, false);
    assert.deepEqual(verifyToken('X-Gitlab-Token', undefined, ['glt-secret']), {
      ok: false,
      reason: 'missing X-Gitlab-Token header',
    });
  });
});

describe('Standard Webhooks', () => {
  const check = (overrides: Partial<Parameters<typeof verifyStandardWebhook>[0]> = {}) =>
    verifyStandardWebhook({
      id: STANDARD.id,
      timestamp: STANDARD.timestamp,
      signature: STANDARD.signature,
      body: STANDARD.body,
      keys: [STANDARD.key],
      nowMs: STANDARD_NOW,
      ...overrides,
    });

  test('the specification example verifies, also among other signatures and within the tolerance', () => {
    assert.deepEqual(check(), { ok: true });
    assert.deepEqual(check({ signature: `v1,AAAA v2,xyz ${STANDARD.signature}` }), { ok: true });
    assert.deepEqual(check({ nowMs: STANDARD_NOW + 299_000 }), { ok: true });
    assert.deepEqual(check({ keys: [Buffer.from('other key'), STANDARD.key] }), { ok: true });
  });

  test('a changed id, timestamp or body, an old or future timestamp, or no v1 signature is refused', () => {
    assert.equal(check({ id: 'msg_other' }).ok, false);
    assert.equal(check({ body: Buffer.from('{"test": 2432232315}') }).ok, false);
    assert.deepEqual(check({ nowMs: STANDARD_NOW + 301_000 }), {
      ok: false,
      reason: 'webhook-timestamp is more than 300 s away from now',
    });
    assert.equal(check({ nowMs: STANDARD_NOW - 301_000 }).ok, false);
    assert.equal(check({ signature: STANDARD.signature.replace('v1,', 'v2,') }).ok, false);
    assert.equal(check({ signature: STANDARD.signature.slice(0, -4) }).ok, false);
    assert.equal(check({ timestamp: 'yesterday' }).ok, false);
    assert.deepEqual(check({ signature: undefined }), {
      ok: false,
      reason: 'missing webhook-signature header',
    });
  });
});

describe('GitLab: token and Standard-Webhooks signature', () => {
  const signed = {
    'webhook-id': STANDARD.id,
    'webhook-timestamp': STANDARD.timestamp,
    'webhook-signature': STANDARD.signature,
  };

  test('with tokens only, the token is required', () => {
    const gitlab = gitlabSource({ tokens: ['glt'], signingKeys: [] });
    assert.deepEqual(gitlab.verify({ 'x-gitlab-token': 'glt' }, STANDARD.body, STANDARD_NOW), { ok: true });
    assert.equal(gitlab.verify({ 'x-gitlab-token': 'nope' }, STANDARD.body, STANDARD_NOW).ok, false);
    assert.equal(gitlab.verify(signed, STANDARD.body, STANDARD_NOW).ok, false, 'a signature is no token');
  });

  test('with a signing key only, the signature is required', () => {
    const gitlab = gitlabSource({ tokens: [], signingKeys: [STANDARD.key] });
    assert.deepEqual(gitlab.verify(signed, STANDARD.body, STANDARD_NOW), { ok: true });
    assert.deepEqual(gitlab.verify({ 'x-gitlab-token': 'glt' }, STANDARD.body, STANDARD_NOW), {
      ok: false,
      reason: 'missing webhook-signature header',
    });
    assert.equal(gitlab.verify(signed, Buffer.from('{}'), STANDARD_NOW).ok, false);
  });

  test('with both, each credential sent must be right', () => {
    const gitlab = gitlabSource({ tokens: ['glt'], signingKeys: [STANDARD.key] });
    assert.deepEqual(gitlab.verify({ ...signed, 'x-gitlab-token': 'glt' }, STANDARD.body, STANDARD_NOW), {
      ok: true,
    });
    assert.deepEqual(gitlab.verify({ 'x-gitlab-token': 'glt' }, STANDARD.body, STANDARD_NOW), { ok: true });
    assert.equal(
      gitlab.verify({ ...signed, 'x-gitlab-token': 'bad' }, STANDARD.body, STANDARD_NOW).ok,
      false,
    );
    assert.equal(
      gitlab.verify({ ...signed, 'x-gitlab-token': 'glt' }, STANDARD.body, STANDARD_NOW + 3_600_000).ok,
      false,
    );
    assert.equal(gitlab.verify({}, STANDARD.body, STANDARD_NOW).ok, false);
  });
});

describe('generic sources', () => {
  test('an HMAC source checks its own header, prefix and encoding', () => {
    const source = genericSource('jenkins', {
      auth: {
        kind: 'hmac',
        header: 'x-signature',
        secrets: [GITHUB.secret],
        algorithm: 'sha256',
        prefix: 'sha256=',
        encoding: 'hex',
      },
      deliveryHeader: undefined,
    });
    assert.deepEqual(source.verify({ 'x-signature': GITHUB.signature }, GITHUB.body, 0), { ok: true });
    assert.equal(source.verify({ 'x-hub-signature-256': GITHUB.signature }, GITHUB.body, 0).ok, false);
    assert.equal(verifyHmac({ header: 'x', presented: 'abc', body: GITHUB.body, secrets: ['k'] }).ok, false);
  });

  test('a base64 digest without prefix, of the configured algorithm only', () => {
    const presented = 'g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=';
    const check = (algorithm: 'sha256' | 'sha512') =>
      verifyHmac({
        header: 'x-sig',
        presented,
        body: Buffer.from(`${STANDARD.id}.${STANDARD.timestamp}.${STANDARD.body}`),
        secrets: [STANDARD.key],
        algorithm,
        encoding: 'base64',
      });
    assert.deepEqual(check('sha256'), { ok: true });
    assert.equal(check('sha512').ok, false, 'a SHA-256 digest is too short for SHA-512');
  });

  test('a token source compares its configured header', () => {
    const source = genericSource('tekton', {
      auth: { kind: 'token', header: 'x-webhook-token', tokens: ['t0ken'] },
      deliveryHeader: undefined,
    });
    assert.deepEqual(source.verify({ 'x-webhook-token': 't0ken' }, Buffer.from('{}'), 0), { ok: true });
    assert.deepEqual(source.verify({ authorization: 't0ken' }, Buffer.from('{}'), 0), {
      ok: false,
      reason: 'missing x-webhook-token header',
    });
  });
});
