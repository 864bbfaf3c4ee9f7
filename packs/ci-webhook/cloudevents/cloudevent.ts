// A CloudEvent as the pack reads it, whatever HTTP content mode carried it. From the CloudEvents 1.0
// spec (cloudevents/spec, cloudevents/spec.md "Context Attributes") and its JSON format
// (cloudevents/formats/json-format.md, 3.1 "Handling of data").

/** How `data` holds the event's data: parsed JSON, text, base64 of bytes that are not UTF-8, or none. */
export type DataEncoding = 'json' | 'text' | 'base64' | null;

/** An extension attribute's value: the spec's types map onto these three. */
export type ExtensionValue = string | number | boolean;

export interface CloudEvent {
  id: string;
  source: string;
  type: string;
  subject: string | null;
  /** RFC 3339, as sent. */
  time: string | null;
  datacontenttype: string | null;
  dataschema: string | null;
  data: unknown;
  dataEncoding: DataEncoding;
  extensions: Record<string, ExtensionValue>;
}

/** A CloudEvent, or why it is not one: the reason names the attribute (and how the mode carries it). */
export type ReadEvent = { ok: true; event: CloudEvent } | { ok: false; reason: string };

export const SPEC_VERSION = '1.0';

/** Checked in this order, so that an event from another version is told so rather than what it lacks. */
const REQUIRED = ['specversion', 'id', 'source', 'type'] as const;
const OPTIONAL = ['subject', 'time', 'datacontenttype', 'dataschema'] as const;
const KNOWN_ATTRIBUTES: ReadonlySet<string> = new Set([...REQUIRED, ...OPTIONAL]);

/** Attribute names are lower-case letters and digits (spec.md, "Attribute Naming Convention"). */
const ATTRIBUTE_NAME = /^[a-z0-9]+$/;

/** RFC 3339 date-time: the spec's Timestamp type. */
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/**
 * The attributes of one event, as strings or (structured mode) JSON scalars, checked. `where(name)` says
 * how the mode carries an attribute, for the reason: `the ce-id header`, `"id"`.
 */
export function checkAttributes(
  attributes: Readonly<Record<string, unknown>>,
  where: (name: string) => string,
): { ok: true; event: Omit<CloudEvent, 'data' | 'dataEncoding'> } | { ok: false; reason: string } {
  for (const name of REQUIRED) {
    const value = attributes[name];
    if (value === undefined || value === null || value === '') {
      return { ok: false, reason: `missing required attribute ${name} (${where(name)})` };
    }
    if (typeof value !== 'string') return { ok: false, reason: `${where(name)} is a string` };
    if (name === 'specversion' && value !== SPEC_VERSION) {
      return {
        ok: false,
        reason: `specversion ${JSON.stringify(value)} is not supported: send CloudEvents ${SPEC_VERSION}`,
      };
    }
  }
  const optional: Record<string, string | null> = {};
  for (const name of OPTIONAL) {
    const value = attributes[name];
    if (value === undefined || value === null) {
      optional[name] = null;
      continue;
    }
    if (typeof value !== 'string') return { ok: false, reason: `${where(name)} is a string` };
    optional[name] = value;
  }
  const time = optional.time ?? null;
  if (time !== null && !isTimestamp(time)) {
    return { ok: false, reason: `${where('time')} is not an RFC 3339 timestamp` };
  }
  const extensions: Record<string, ExtensionValue> = {};
  for (const [name, value] of Object.entries(attributes)) {
    if (KNOWN_ATTRIBUTES.has(name) || value === null || value === undefined) continue;
    if (!ATTRIBUTE_NAME.test(name)) {
      return { ok: false, reason: `${where(name)}: attribute names are lower-case letters and digits` };
    }
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      return { ok: false, reason: `${where(name)} is a string, a number or a boolean` };
    }
    extensions[name] = value;
  }
  return {
    ok: true,
    event: {
      id: attributes.id as string,
      source: attributes.source as string,
      type: attributes.type as string,
      subject: optional.subject ?? null,
      time,
      datacontenttype: optional.datacontenttype ?? null,
      dataschema: optional.dataschema ?? null,
      extensions,
    },
  };
}

function isTimestamp(value: string): boolean {
  return RFC3339.test(value) && !Number.isNaN(Date.parse(value));
}

/** `application/json`, `application/json; charset=utf-8`, `application/vnd.x+json`: JSON (json-format.md 3.1.1). */
export function isJsonContentType(contentType: string | null): boolean {
  if (contentType === null) return false;
  const mediaType = mediaTypeOf(contentType);
  return /^[^/]+\/(json|[^/]*\+json)$/.test(mediaType);
}

/** The media type without parameters, lower-case. */
export function mediaTypeOf(contentType: string): string {
  return (contentType.split(';')[0] ?? '').trim().toLowerCase();
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

export type DecodedData =
  | { ok: true; data: unknown; dataEncoding: DataEncoding }
  | { ok: false; reason: string };

/**
 * Data as bytes (binary mode's body, structured mode's data_base64), made readable for flows: JSON
 * parsed when the content type says JSON, else UTF-8 text, else base64. No bytes is no data.
 */
export function decodeData(bytes: Buffer, contentType: string | null): DecodedData {
  if (bytes.length === 0) return { ok: true, data: null, dataEncoding: null };
  let text: string | undefined;
  try {
    text = UTF8.decode(bytes);
  } catch {
    text = undefined;
  }
  if (isJsonContentType(contentType)) {
    if (text === undefined)
      return { ok: false, reason: `the data is declared ${contentType} but is not UTF-8` };
    try {
      return { ok: true, data: JSON.parse(text), dataEncoding: 'json' };
    } catch (error) {
      return {
        ok: false,
        reason: `the data is declared ${contentType} but is not JSON (${(error as Error).message})`,
      };
    }
  }
  return text === undefined
    ? { ok: true, data: bytes.toString('base64'), dataEncoding: 'base64' }
    : { ok: true, data: text, dataEncoding: 'text' };
}
