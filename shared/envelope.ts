import { randomUUID } from 'node:crypto';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
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
  const createdAt =
    typeof candidate.createdAt === 'string'
      ? candidate.createdAt
      : new Date(properties.timestamp ? timestampToMs(properties.timestamp) : Date.now()).toISOString();
  return { ok: true, envelope: { ...(candidate as unknown as Envelope), kind, createdAt } };
}

export function encodeEnvelope(envelope: Envelope): Buffer {
  return Buffer.from(JSON.stringify(envelope), 'utf8');
}

// AMQP timestamps are POSIX seconds, but some clients send milliseconds.
function timestampToMs(timestamp: number): number {
  return timestamp > 1e11 ? timestamp : timestamp * 1000;
}
