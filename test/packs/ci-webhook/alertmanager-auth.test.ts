import assert from 'node:assert/strict';
import { test } from 'node:test';
import { verifyAlertmanagerAuthorization } from '../../../packs/ci-webhook/alertmanager/alertmanager-auth.ts';

// The Authorization header as Alertmanager's http_config sends it (prometheus/common config/http_config.go).
const TOKENS = ['old-t0ken', 'n3w-t0ken'];
const bearer = (token: string) => `Bearer ${token}`;
const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

function reason(header: string | undefined): string {
  const result = verifyAlertmanagerAuthorization(header, TOKENS);
  assert.equal(result.ok, false, `accepted ${header}`);
  return result.ok ? '' : result.reason;
}

test('authorization: {credentials} sends a Bearer token: any of the configured ones is accepted', () => {
  for (const token of TOKENS)
    assert.deepEqual(verifyAlertmanagerAuthorization(bearer(token), TOKENS), { ok: true });
  // The scheme is case-insensitive (RFC 9110), as `type: bearer` in http_config would send it.
  assert.deepEqual(verifyAlertmanagerAuthorization('bearer n3w-t0ken', TOKENS), { ok: true });
});

test('basic_auth sends user:password: the password is the token, whatever the user name', () => {
  assert.deepEqual(verifyAlertmanagerAuthorization(basic('alertmanager', 'n3w-t0ken'), TOKENS), { ok: true });
  assert.deepEqual(verifyAlertmanagerAuthorization(basic('', 'old-t0ken'), TOKENS), { ok: true });
  // The user name ends at the first colon; the password may have more.
  assert.deepEqual(verifyAlertmanagerAuthorization(basic('am', 'a:b'), ['a:b']), { ok: true });
});

test('a wrong, missing or malformed credential is refused with a reason that shows no value', () => {
  const cases: Array<[string | undefined, RegExp]> = [
    [undefined, /missing Authorization header/],
    ['  ', /missing Authorization header/],
    [bearer('n3w-t0ke'), /the Bearer token matches none of the configured tokens/],
    ['Bearer', /no Bearer token/],
    [basic('n3w-t0ken', 'wrong'), /the Basic password matches none/],
    [basic('am', ''), /no password/],
    [`Basic ${Buffer.from('n3w-t0ken').toString('base64')}`, /not base64 of user:password/],
    ['Basic n3w-t0ken', /not base64 of user:password/],
    ['Token n3w-t0ken', /neither Bearer nor Basic/],
    ['n3w-t0ken', /neither Bearer nor Basic/],
  ];
  for (const [header, expected] of cases) {
    const said = reason(header);
    assert.match(said, expected, String(header));
    for (const token of TOKENS) assert.ok(!said.includes(token), `${said} shows a token`);
  }
});

test('with no token configured nothing is accepted', () => {
  assert.equal(verifyAlertmanagerAuthorization(bearer('anything'), []).ok, false);
  assert.equal(verifyAlertmanagerAuthorization(basic('am', ''), []).ok, false);
});
