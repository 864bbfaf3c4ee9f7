import { randomUUID } from 'node:crypto';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { labelledQueueName } from './bus/topology.ts';
import envelopeSchema from './schemas/envelope.schema.json' with { type: 'json' };

export type MessageKind = 'command' | 'event';
export type Labels = Readonly<Record<string, string>>;

/** The JSON body of every message on the bus; see docs/protocol.md. */
export interface Envelope<Payload = unknown> {
  id: string;
  kind: MessageKind;
  pack: string;
  name: string;
  payload: Payload;
  labels?: Labels;
  correlationId?: string;
  causationId?: string;
  createdAt: string;
}

/** What arrives with an AMQP message besides its body. */
export interface TransportProperties {
  messageId?: string | undefined;
  correlationId?: string | undefined;
  timestamp?: number | undefined;
}

/** Bodies above this are refused unread; chat messages and CI payloads are far smaller. */
export const MAX_ENVELOPE_BYTES = 4 * 1024 * 1024;

/**
 * Fields that travel as AMQP short strings, which hold 255 bytes: id and correlationId as the messageId and
 * correlationId properties (of this message or of the result it causes), pack as appId, name as type; a
 * causationId is the id of another message. The schema can only count characters, and 200 `é` are 400 bytes.
 */
const SHORT_STRING_FIELDS = ['id', 'correlationId', 'causationId', 'pack', 'name'] as const;
const MAX_SHORT_STRING_BYTES = 255;

/** The times an AMQP timestamp (unsigned seconds) and an RFC 3339 date (four-digit years) both carry. */
const EARLIEST_MS = 0;
const LATEST_MS = Date.parse('9999-12-31T23:59:59.999Z');

export type DecodeResult = { ok: true; envelope: Envelope } | { ok: false; reason: string };

const ajv = new Ajv({ allErrors: true });
addFormats.default(ajv);
const validateEnvelope = ajv.compile(envelopeSchema);

export function newMessageId(): string {
  return randomUUID();
}

export function createEnvelope<P>(fields: {
  kind: MessageKind;
  pack: string;
  name: string;
  payload: P;
  labels?: Labels | undefined;
  correlationId?: string | undefined;
  causationId?: string | undefined;
  id?: string;
}): Envelope<P> {
  const envelope: Envelope<P> = {
    id: fields.id ?? newMessageId(),
    kind: fields.kind,
    pack: fields.pack,
    name: fields.name,
    payload: fields.payload,
    createdAt: new Date().toISOString(),
  };
  if (fields.labels && Object.keys(fields.labels).length > 0) envelope.labels = fields.labels;
  if (fields.correlationId) envelope.correlationId = fields.correlationId;
  if (fields.causationId) envelope.causationId = fields.causationId;
  return envelope;
}

/**
 * Reads a message body into an envelope, filling what outside publishers may leave out
 * (kind from the exchange, createdAt and correlationId from the AMQP properties).
 */
export function decodeEnvelope(
  body: Buffer,
  kind: MessageKind,
  properties: TransportProperties = {},
): DecodeResult {
  // A throw here would escape every consumer's handling and end the process: whatever the decoder did not
  // foresee is one more way for a message to be unreadable.
  try {
    return decodeOrThrow(body, kind, properties);
  } catch (error) {
    return { ok: false, reason: `the message cannot be read: ${(error as Error).message}` };
  }
}

function decodeOrThrow(body: Buffer, kind: MessageKind, properties: TransportProperties): DecodeResult {
  if (body.length > MAX_ENVELOPE_BYTES) {
    return { ok: false, reason: `body is ${body.length} bytes, more than the ${MAX_ENVELOPE_BYTES} allowed` };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (error) {
    return { ok: false, reason: `body is not JSON: ${(error as Error).message}` };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return { ok: false, reason: 'body is not a JSON object' };
  }
  const candidate = parsed as Record<string, unknown>;
  if (candidate.id === undefined && properties.messageId) candidate.id = properties.messageId;
  if (candidate.correlationId === undefined && properties.correlationId) {
    candidate.correlationId = properties.correlationId;
  }
  if (!validateEnvelope(candidate)) {
    return {
      ok: false,
      reason: `not a valid envelope: ${ajv.errorsText(validateEnvelope.errors, { dataVar: 'envelope' })}`,
    };
  }
  if (candidate.kind !== undefined && candidate.kind !== kind) {
    return { ok: false, reason: `envelope kind "${candidate.kind}" arrived on the ${kind}s exchange` };
  }
  // Refused here, or the message would fail later, when it or its result is published (issue 12).
  const unsendable = unsendableReason(candidate as unknown as Envelope, kind);
  if (unsendable) return { ok: false, reason: unsendable };
  let createdAt: string;
  if (typeof candidate.createdAt === 'string') createdAt = candidate.createdAt;
  else {
    const ms = properties.timestamp ? timestampToMs(properties.timestamp) : Date.now();
    if (ms > LATEST_MS) {
      return { ok: false, reason: `the AMQP timestamp ${properties.timestamp} is after year 9999` };
    }
    createdAt = new Date(ms).toISOString();
  }
  return { ok: true, envelope: { ...(candidate as unknown as Envelope), kind, createdAt } };
}

/** Why a valid envelope could still not go out over AMQP, if it could not. */
function unsendableReason(envelope: Envelope, kind: MessageKind): string | undefined {
  for (const field of SHORT_STRING_FIELDS) {
    const value = envelope[field];
    // A UTF-16 code unit is at most 3 bytes of UTF-8, so short values need no counting.
    if (value === undefined || value.length * 3 <= MAX_SHORT_STRING_BYTES) continue;
    const bytes = Buffer.byteLength(value, 'utf8');
    if (bytes > MAX_SHORT_STRING_BYTES) {
      return `envelope/${field} is ${bytes} bytes in UTF-8, more than the ${MAX_SHORT_STRING_BYTES} an AMQP short string holds`;
    }
  }
  if (envelope.createdAt !== undefined) {
    const ms = Date.parse(envelope.createdAt);
    // NaN too: a leap second (23:59:60) is valid RFC 3339 that Date cannot read.
    if (!(ms >= EARLIEST_MS && ms <= LATEST_MS)) {
      return `envelope/createdAt must be from 1970 to 9999 (AMQP timestamps count seconds since 1970), got ${envelope.createdAt}`;
    }
  }
  // A labelled command may be moved to the queue named after its labels, and queue names are short strings.
  if (kind === 'command' && envelope.labels !== undefined) {
    const queue = labelledQueueName(envelope.pack, envelope.labels);
    const bytes = Buffer.byteLength(queue, 'utf8');
    if (bytes > MAX_SHORT_STRING_BYTES) {
      return `envelope/labels make the queue name ${queue} ${bytes} bytes, more than the ${MAX_SHORT_STRING_BYTES} an AMQP short string holds`;
    }
  }
  return undefined;
}

export function encodeEnvelope(envelope: Envelope): Buffer {
  return Buffer.from(JSON.stringify(envelope), 'utf8');
}

// AMQP timestamps are POSIX seconds, but some clients send milliseconds.
function timestampToMs(timestamp: number): number {
  return timestamp > 1e11 ? timestamp : timestamp * 1000;
}
