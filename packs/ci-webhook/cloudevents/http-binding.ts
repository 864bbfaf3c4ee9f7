import type { IncomingHttpHeaders } from 'node:http';
import { asObject } from '../webhook-source.ts';
import {
  type CloudEvent,
  checkAttributes,
  decodeData,
  isJsonContentType,
  mediaTypeOf,
  type ReadEvent,
} from './cloudevent.ts';

// CloudEvents over HTTP, cloudevents/spec cloudevents/bindings/http-protocol-binding.md (1.0.3-wip):
// 3. "The receiver of the event can distinguish between the three modes by inspecting the Content-Type
// header value": `application/cloudevents-batch...` batched, `application/cloudevents...` structured,
// anything else binary.

/** The events of one request, every one checked; or why the request is refused, with its status. */
export type ReadRequest =
  | { ok: true; mode: 'binary' | 'structured' | 'batched'; events: CloudEvent[] }
  | { ok: false; status: 400 | 415; reason: string };

export function readCloudEvents(headers: IncomingHttpHeaders, body: Buffer): ReadRequest {
  const contentType = single(headers['content-type']) ?? null;
  const mediaType = contentType === null ? '' : mediaTypeOf(contentType);
  if (mediaType.startsWith('application/cloudevents-batch')) {
    if (mediaType !== 'application/cloudevents-batch+json') return unsupportedFormat(mediaType);
    return readBatch(body);
  }
  if (mediaType.startsWith('application/cloudevents')) {
    if (mediaType !== 'application/cloudevents+json') return unsupportedFormat(mediaType);
    const json = parseJson(body);
    if (!json.ok) return refused(json.reason);
    const read = readStructured(json.value);
    return read.ok ? { ok: true, mode: 'structured', events: [read.event] } : refused(read.reason);
  }
  const read = readBinary(headers, contentType, body);
  return read.ok ? { ok: true, mode: 'binary', events: [read.event] } : refused(read.reason);
}

function unsupportedFormat(mediaType: string): ReadRequest {
  return {
    ok: false,
    status: 415,
    reason: `${mediaType} is an event format this endpoint does not read: send application/cloudevents+json, application/cloudevents-batch+json, or binary mode (ce-* headers)`,
  };
}

function refused(reason: string): ReadRequest {
  return { ok: false, status: 400, reason };
}

/**
 * Binary mode (3.1): every attribute but datacontenttype is a `ce-<name>` header, percent-encoded
 * (3.1.3.2); Content-Type is the datacontenttype and the body is the data, as is.
 */
export function readBinary(
  headers: IncomingHttpHeaders,
  contentType: string | null,
  body: Buffer,
): ReadEvent {
  if (headers['ce-datacontenttype'] !== undefined) {
    return {
      ok: false,
      reason: 'binary mode carries datacontenttype as Content-Type, never as ce-datacontenttype',
    };
  }
  const attributes: Record<string, string> = {};
  for (const [header, value] of Object.entries(headers)) {
    if (!header.startsWith('ce-') || value === undefined) continue;
    const decoded = decodeHeaderValue(Array.isArray(value) ? value.join(',') : value);
    if (decoded === undefined) {
      return { ok: false, reason: `the ${header} header is not percent-encoded UTF-8` };
    }
    attributes[header.slice(3)] = decoded;
  }
  if (contentType !== null) attributes.datacontenttype = contentType;
  const checked = checkAttributes(attributes, (name) =>
    name === 'datacontenttype' ? 'the Content-Type header' : `the ce-${name} header`,
  );
  if (!checked.ok) return checked;
  const data = decodeData(body, contentType);
  if (!data.ok) return data;
  return { ok: true, event: { ...checked.event, data: data.data, dataEncoding: data.dataEncoding } };
}

/**
 * A header value as an attribute (3.1.3.2): a double-quoted string unescaped first, for senders of older
 * versions, then one round of percent-decoding; invalid UTF-8 (overlong forms included) is undefined.
 */
export function decodeHeaderValue(raw: string): string | undefined {
  let value = raw.trim();
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) {
    value = value.slice(1, -1).replace(/\\(.)/g, '$1');
  }
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}

/** Structured mode (3.2) in the JSON format: one object, with `data` or `data_base64`. */
export function readStructured(value: unknown): ReadEvent {
  const object = asObject(value);
  if (!object) return { ok: false, reason: 'a structured-mode event is a JSON object' };
  const { data, data_base64: dataBase64, ...attributes } = object;
  if (data !== undefined && dataBase64 !== undefined) {
    return { ok: false, reason: 'an event has "data" or "data_base64", not both' };
  }
  const checked = checkAttributes(attributes, (name) => `"${name}"`);
  if (!checked.ok) return checked;
  const { datacontenttype } = checked.event;
  if (dataBase64 !== undefined && dataBase64 !== null) {
    if (typeof dataBase64 !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(dataBase64)) {
      return { ok: false, reason: '"data_base64" is a base64 string' };
    }
    const decoded = decodeData(Buffer.from(dataBase64, 'base64'), datacontenttype);
    if (!decoded.ok) return decoded;
    return { ok: true, event: { ...checked.event, data: decoded.data, dataEncoding: decoded.dataEncoding } };
  }
  if (data === undefined) return { ok: true, event: { ...checked.event, data: null, dataEncoding: null } };
  // json-format.md 3.1.2: without datacontenttype, data is JSON; with one that is not JSON, it is text.
  if (datacontenttype === null || isJsonContentType(datacontenttype)) {
    return { ok: true, event: { ...checked.event, data, dataEncoding: 'json' } };
  }
  if (typeof data !== 'string') {
    return { ok: false, reason: `"data" of ${datacontenttype} is a string (or send "data_base64")` };
  }
  return { ok: true, event: { ...checked.event, data, dataEncoding: 'text' } };
}

/** Batched mode (3.3): a JSON array of structured events, every one checked before any is taken. */
function readBatch(body: Buffer): ReadRequest {
  const json = parseJson(body);
  if (!json.ok) return refused(json.reason);
  if (!Array.isArray(json.value)) return refused('a batch is a JSON array of events');
  const events: CloudEvent[] = [];
  for (const [index, item] of json.value.entries()) {
    const read = readStructured(item);
    if (!read.ok) return refused(`event ${index} of the batch: ${read.reason}`);
    events.push(read.event);
  }
  return { ok: true, mode: 'batched', events };
}

function parseJson(body: Buffer): { ok: true; value: unknown } | { ok: false; reason: string } {
  try {
    return { ok: true, value: JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body)) };
  } catch (error) {
    return { ok: false, reason: `the body is not UTF-8 JSON (${(error as Error).message})` };
  }
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
