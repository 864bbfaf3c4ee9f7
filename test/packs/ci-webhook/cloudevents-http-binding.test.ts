import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { describe, test } from 'node:test';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { parseCloudEventsConfig } from '../../../packs/ci-webhook/cloudevents/cloudevents-config.ts';
import {
  CLOUD_EVENT_RECEIVED_SCHEMA,
  cloudeventsSource,
} from '../../../packs/ci-webhook/cloudevents/cloudevents-source.ts';
import { type ReadRequest, readCloudEvents } from '../../../packs/ci-webhook/cloudevents/http-binding.ts';
import { tektonRequest } from './fixtures/tekton/tekton-fixtures.ts';

// The three HTTP content modes of CloudEvents 1.0 (cloudevents/spec, bindings/http-protocol-binding.md),
// the Web Hook spec's token and handshake (http-webhook.md), as /webhooks/cloudevents reads them.

const ajv = new Ajv({ allErrors: true });
addFormats.default(ajv);
const validReceived = ajv.compile(CLOUD_EVENT_RECEIVED_SCHEMA);

/** Node hands headers over lower-cased. */
function lower(headers: Record<string, string>): IncomingHttpHeaders {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
}

const BINARY = {
  'ce-specversion': '1.0',
  'ce-id': 'A234-1234-1234',
  'ce-source': '/mycontext',
  'ce-type': 'com.example.someevent',
};

function read(headers: Record<string, string>, body: string | Buffer = ''): ReadRequest {
  return readCloudEvents(lower(headers), Buffer.from(body));
}

function events(result: ReadRequest) {
  assert.ok(result.ok, result.ok ? '' : result.reason);
  if (!result.ok) throw new Error('unreachable');
  for (const event of result.events) {
    assert.ok(validReceived({ ...event }), ajv.errorsText(validReceived.errors));
  }
  return result.events;
}

function refusal(result: ReadRequest): { status: number; reason: string } {
  assert.equal(result.ok, false, 'refused');
  if (result.ok) throw new Error('unreachable');
  return result;
}

describe('binary mode: ce-* headers, the body is the data', () => {
  test("Tekton's request (docs/events.md) is one event, its JSON data parsed", () => {
    const { headers, body } = tektonRequest('taskrun-unknown');
    const [event, ...rest] = events(read(headers, JSON.stringify(body)));
    assert.equal(rest.length, 0);
    assert.deepEqual(
      { ...event, data: undefined },
      {
        id: '77f78ae7-ff6d-4e39-9d05-b9a0b7850527',
        source: '/apis/tekton.dev/v1beta1/namespaces/default/taskruns/curl-run-6gplk',
        type: 'dev.tekton.event.taskrun.unknown.v1',
        subject: 'curl-run-6gplk',
        time: '2021-01-29T14:47:58.157819Z',
        datacontenttype: 'application/json',
        dataschema: null,
        data: undefined,
        dataEncoding: 'json',
        extensions: {},
      },
    );
    assert.deepEqual(event?.data, body);
  });

  test('header values are percent-decoded once, and double-quoted ones unquoted', () => {
    const [event] = events(
      read({
        ...BINARY,
        'ce-subject': 'Euro%20%E2%82%AC%20%F0%9F%98%80',
        'ce-comexampleextension1': '"quoted value"',
        'ce-traceparent': '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      }),
    );
    assert.equal(event?.subject, 'Euro € 😀');
    assert.deepEqual(event?.extensions, {
      comexampleextension1: 'quoted value',
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    });
  });

  test('invalid UTF-8 in a header (an overlong space) is refused, naming the header', () => {
    const { status, reason } = refusal(read({ ...BINARY, 'ce-subject': 'a%C0%A0b' }));
    assert.equal(status, 400);
    assert.match(reason, /ce-subject/);
  });

  test('text stays text, bytes that are not UTF-8 become base64, and no body is no data', () => {
    const [text] = events(read({ ...BINARY, 'content-type': 'text/plain' }, 'héllo'));
    assert.deepEqual(
      [text?.data, text?.dataEncoding, text?.datacontenttype],
      ['héllo', 'text', 'text/plain'],
    );
    const bytes = Buffer.from([0xff, 0x00, 0xfe]);
    const [binary] = events(read({ ...BINARY, 'content-type': 'application/octet-stream' }, bytes));
    assert.deepEqual([binary?.data, binary?.dataEncoding], ['/wD+', 'base64']);
    const [none] = events(read(BINARY));
    assert.deepEqual([none?.data, none?.dataEncoding, none?.datacontenttype], [null, null, null]);
  });

  test('data declared JSON that is not JSON is refused', () => {
    const { status, reason } = refusal(read({ ...BINARY, 'content-type': 'application/json' }, '{oops'));
    assert.equal(status, 400);
    assert.match(reason, /declared application\/json but is not JSON/);
  });

  for (const attribute of ['id', 'source', 'specversion', 'type']) {
    test(`a missing ${attribute} is refused, naming it and its header`, () => {
      const headers: Record<string, string> = { ...BINARY };
      delete headers[`ce-${attribute}`];
      const { status, reason } = refusal(read(headers));
      assert.equal(status, 400);
      assert.equal(reason, `missing required attribute ${attribute} (the ce-${attribute} header)`);
    });
  }

  test('another specversion is refused', () => {
    const { status, reason } = refusal(read({ ...BINARY, 'ce-specversion': '0.3' }));
    assert.equal(status, 400);
    assert.match(reason, /specversion "0.3" is not supported: send CloudEvents 1.0/);
  });

  test('a time that is not RFC 3339, an attribute name with a dash, and ce-datacontenttype are refused', () => {
    assert.match(
      refusal(read({ ...BINARY, 'ce-time': 'yesterday' })).reason,
      /ce-time header is not an RFC 3339/,
    );
    assert.match(
      refusal(read({ ...BINARY, 'ce-foo-bar': 'x' })).reason,
      /ce-foo-bar header: attribute names/,
    );
    assert.match(refusal(read({ ...BINARY, 'ce-datacontenttype': 'text/plain' })).reason, /Content-Type/);
  });
});

describe('structured mode: application/cloudevents+json', () => {
  const event = {
    specversion: '1.0',
    id: 'C234-1234-1234',
    source: '/mycontext',
    type: 'com.example.someevent',
    subject: null,
    time: '2018-04-05T17:31:00Z',
    comexampleothervalue: 5,
    datacontenttype: 'application/json',
    data: { appinfoA: 'abc', appinfoB: 123 },
  };
  const structured = { 'content-type': 'application/cloudevents+json; charset=utf-8' };

  test("json-format.md's example reads as it was sent; the Content-Type is the format, not the data's", () => {
    const [read_] = events(read(structured, JSON.stringify(event)));
    assert.deepEqual(read_, {
      id: 'C234-1234-1234',
      source: '/mycontext',
      type: 'com.example.someevent',
      subject: null,
      time: '2018-04-05T17:31:00Z',
      datacontenttype: 'application/json',
      dataschema: null,
      data: { appinfoA: 'abc', appinfoB: 123 },
      dataEncoding: 'json',
      extensions: { comexampleothervalue: 5 },
    });
  });

  test('data_base64 is decoded as its datacontenttype says; XML data is text', () => {
    const base64 = { ...event, data: undefined, data_base64: Buffer.from('{"a":1}').toString('base64') };
    assert.deepEqual(events(read(structured, JSON.stringify(base64)))[0]?.data, { a: 1 });
    const xml = { ...event, datacontenttype: 'application/xml', data: '<much wow="xml"/>' };
    const [text] = events(read(structured, JSON.stringify(xml)));
    assert.deepEqual([text?.data, text?.dataEncoding], ['<much wow="xml"/>', 'text']);
  });

  test('data and data_base64 together, a missing id and a body that is not JSON are refused', () => {
    const both = { ...event, data_base64: 'AAAA' };
    assert.match(refusal(read(structured, JSON.stringify(both))).reason, /not both/);
    const { id: _id, ...withoutId } = event;
    assert.equal(
      refusal(read(structured, JSON.stringify(withoutId))).reason,
      'missing required attribute id ("id")',
    );
    assert.equal(refusal(read(structured, '{')).status, 400);
  });
});

describe('batched mode: application/cloudevents-batch+json', () => {
  const one = { specversion: '1.0', id: '1', source: '/a', type: 't' };
  const batch = { 'content-type': 'application/cloudevents-batch+json' };

  test('every event of the batch, in order', () => {
    const read_ = events(read(batch, JSON.stringify([one, { ...one, id: '2', data: 'x' }])));
    assert.deepEqual(
      read_.map((event) => [event.id, event.data]),
      [
        ['1', null],
        ['2', 'x'],
      ],
    );
  });

  test('one bad event refuses the whole batch, naming its index', () => {
    const { status, reason } = refusal(read(batch, JSON.stringify([one, { ...one, type: undefined }])));
    assert.equal(status, 400);
    assert.equal(reason, 'event 1 of the batch: missing required attribute type ("type")');
    assert.match(refusal(read(batch, JSON.stringify(one))).reason, /a batch is a JSON array/);
  });
});

test('an event format this endpoint does not read is 415, structured or batched', () => {
  for (const contentType of ['application/cloudevents+avro', 'application/cloudevents-batch+xml']) {
    const { status, reason } = refusal(read({ 'content-type': contentType }, 'x'));
    assert.equal(status, 415, contentType);
    assert.match(reason, new RegExp(contentType.replace('+', '\\+')));
  }
});

describe('the Web Hook spec: tokens and the OPTIONS handshake', () => {
  const source = cloudeventsSource(
    parseCloudEventsConfig({
      CLOUDEVENTS_TOKENS: 'old-t0ken, new-t0ken',
      CLOUDEVENTS_ALLOWED_ORIGINS: 'tekton.example.com',
    }),
  );
  const verify = (headers: Record<string, string>, query = '') =>
    source.verify(lower(headers), Buffer.alloc(0), 0, new URL(`http://x/webhooks/cloudevents${query}`));

  test('a token from CLOUDEVENTS_TOKENS, any of them, as a Bearer header or ?access_token=', () => {
    assert.deepEqual(verify({ Authorization: 'Bearer new-t0ken' }), { ok: true });
    assert.deepEqual(verify({ Authorization: 'bearer old-t0ken' }), { ok: true });
    assert.deepEqual(verify({}, '?access_token=old-t0ken&x=1'), { ok: true });
  });

  test('a wrong or missing token is refused without repeating what was sent', () => {
    for (const result of [
      verify({ Authorization: 'Bearer n3w-t0ken' }),
      verify({}, '?access_token=n3w-t0ken'),
      verify({ Authorization: 'Basic bmV3LXQwa2Vu' }),
      verify({}),
    ]) {
      assert.equal(result.ok, false);
      if (result.ok) continue;
      assert.doesNotMatch(result.reason, /n3w|bmV3/);
    }
    const missing = verify({});
    assert.ok(!missing.ok && /Authorization: Bearer <token> or \?access_token=/.test(missing.reason));
  });

  test('OPTIONS from an allowed origin gets WebHook-Allowed-Origin, WebHook-Allowed-Rate and Allow: POST', () => {
    const answer = source.preflight?.(
      lower({ 'WebHook-Request-Origin': 'Tekton.example.com', 'WebHook-Request-Rate': '120' }),
    );
    assert.deepEqual(answer?.status, 200);
    assert.deepEqual(answer?.headers, {
      allow: 'POST',
      'webhook-allowed-origin': 'Tekton.example.com',
      'webhook-allowed-rate': '*',
    });
  });

  test('OPTIONS from another origin is 403 without consent; without an origin, 400', () => {
    const other = source.preflight?.(lower({ 'WebHook-Request-Origin': 'evil.example.org' }));
    assert.equal(other?.status, 403);
    assert.equal(other?.headers['webhook-allowed-origin'], undefined);
    assert.equal(source.preflight?.({})?.status, 400);
  });

  test('`*` allows every origin; with no token configured, no origin is granted', () => {
    const any = cloudeventsSource(
      parseCloudEventsConfig({ CLOUDEVENTS_TOKENS: 't', CLOUDEVENTS_ALLOWED_ORIGINS: '*' }),
    );
    assert.equal(
      any.preflight?.(lower({ 'WebHook-Request-Origin': 'a.example' }))?.headers['webhook-allowed-origin'],
      '*',
    );
    const closed = cloudeventsSource(parseCloudEventsConfig({ CLOUDEVENTS_ALLOWED_ORIGINS: '*' }));
    assert.ok(closed.notConfigured);
    assert.equal(closed.preflight?.(lower({ 'WebHook-Request-Origin': 'a.example' }))?.status, 403);
  });
});
