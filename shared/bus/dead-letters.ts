import { createHash } from 'node:crypto';
import { type DeadLetter, DeadLetterError } from './bus.ts';
import {
  DEAD_LETTER_EXCHANGE_HEADER,
  DEAD_LETTER_REASON_HEADER,
  DEAD_LETTER_ROUTING_KEY_HEADER,
  DEAD_LETTERED_AT_HEADER,
  REQUEUED_AT_HEADER,
} from './topology.ts';

// What both buses share about dead letters: reading where a letter was going and why from its headers,
// naming it for the console, and the headers it goes back with.

/** Most letters a view lists (and, on RabbitMQ, holds) at once; the rest are counted. */
export const MAX_LISTED_DEAD_LETTERS = 1000;

export interface DeadLetterOrigin {
  reason: string | undefined;
  originalExchange: string | undefined;
  originalRoutingKey: string | undefined;
  deadLetteredAt: string | undefined;
}

/**
 * What a letter carries because it was dead-lettered, none of it part of the message: ours, then those of
 * RabbitMQ's own dead-lettering (a pack queue's delivery limit), then the delivery count quorum queues set.
 */
const DEAD_LETTER_HEADERS = [
  DEAD_LETTER_REASON_HEADER,
  DEAD_LETTER_EXCHANGE_HEADER,
  DEAD_LETTER_ROUTING_KEY_HEADER,
  DEAD_LETTERED_AT_HEADER,
  REQUEUED_AT_HEADER,
  'x-death',
  'x-first-death-exchange',
  'x-first-death-queue',
  'x-first-death-reason',
  'x-last-death-exchange',
  'x-last-death-queue',
  'x-last-death-reason',
  'x-delivery-count',
];

/**
 * Where a letter was going and why it was set aside: from Switchboard's headers (docs/protocol.md, Bad
 * input), or else from RabbitMQ's `x-death` for a message the broker moved here itself.
 */
export function readDeadLetterOrigin(headers: Record<string, unknown>): DeadLetterOrigin {
  const reason = headerText(headers[DEAD_LETTER_REASON_HEADER]);
  if (reason !== undefined || headers[DEAD_LETTER_ROUTING_KEY_HEADER] !== undefined) {
    return {
      reason,
      originalExchange: headerText(headers[DEAD_LETTER_EXCHANGE_HEADER]),
      originalRoutingKey: headerText(headers[DEAD_LETTER_ROUTING_KEY_HEADER]),
      deadLetteredAt: isoTime(headers[DEAD_LETTERED_AT_HEADER]),
    };
  }
  const death = firstDeath(headers);
  if (!death) {
    return {
      reason: undefined,
      originalExchange: undefined,
      originalRoutingKey: undefined,
      deadLetteredAt: undefined,
    };
  }
  const routingKeys = Array.isArray(death['routing-keys']) ? death['routing-keys'] : [];
  return {
    reason: brokerReason(headerText(death.reason), headerText(death.queue)),
    originalExchange: headerText(death.exchange),
    originalRoutingKey: headerText(routingKeys[0]),
    deadLetteredAt: isoTime(death.time),
  };
}

/** The x-death entry of the first dead-lettering (entries are most recent first, one per queue and reason). */
function firstDeath(headers: Record<string, unknown>): Record<string, unknown> | undefined {
  const deaths = headers['x-death'];
  if (!Array.isArray(deaths) || deaths.length === 0) return undefined;
  const firstQueue = headerText(headers['x-first-death-queue']);
  const entries = deaths.filter(
    (entry): entry is Record<string, unknown> => typeof entry === 'object' && entry !== null,
  );
  return entries.find((entry) => headerText(entry.queue) === firstQueue) ?? entries.at(-1);
}

function brokerReason(reason: string | undefined, queue: string | undefined): string {
  const where = queue ?? 'its queue';
  switch (reason) {
    case 'delivery_limit':
      return `RabbitMQ set it aside from ${where}: delivered too many times without being acknowledged (its consumer died with it, or gave it back, each time)`;
    case 'rejected':
      return `RabbitMQ set it aside from ${where}: a consumer rejected it`;
    case 'expired':
      return `RabbitMQ set it aside from ${where}: its time to live ran out`;
    case 'maxlen':
      return `RabbitMQ set it aside from ${where}: the queue was full`;
    default:
      return `RabbitMQ set it aside from ${where}: ${reason ?? 'no reason given'}`;
  }
}

/** The letters as the console lists them, in the order given (queue order), each with its id. */
export function describeDeadLetters(
  messages: ReadonlyArray<{ messageId: string | undefined; body: Buffer; headers: Record<string, unknown> }>,
): DeadLetter[] {
  const described = messages.map((message) => ({
    ...message,
    origin: readDeadLetterOrigin(message.headers),
  }));
  const ids = letterIds(described);
  return described.map(({ messageId, body, headers, origin }, index) => ({
    id: ids[index] as string,
    messageId,
    body,
    headers,
    ...origin,
  }));
}

/**
 * Each letter's id, in the order given: its messageId when no other letter given has the same one;
 * otherwise `sha256-` and 24 hex digits of what it carries (body, messageId, reason, destination), with
 * `-2`, `-3`, ... for identical copies. The same letters in the same order always get the same ids.
 */
export function letterIds(
  letters: ReadonlyArray<{ messageId: string | undefined; body: Buffer; origin: DeadLetterOrigin }>,
): string[] {
  const messageIds = new Map<string, number>();
  for (const { messageId } of letters) {
    if (messageId) messageIds.set(messageId, (messageIds.get(messageId) ?? 0) + 1);
  }
  const taken = new Set<string>();
  return letters.map(({ messageId, body, origin }) => {
    if (messageId && messageIds.get(messageId) === 1 && !taken.has(messageId)) {
      taken.add(messageId);
      return messageId;
    }
    const digest = createHash('sha256')
      .update(JSON.stringify([messageId ?? null, origin.reason ?? null, origin.originalExchange ?? null]))
      .update(JSON.stringify([origin.originalRoutingKey ?? null, body.length]))
      .update(body)
      .digest('hex')
      .slice(0, 24);
    let id = `sha256-${digest}`;
    for (let copy = 2; taken.has(id); copy++) id = `sha256-${digest}-${copy}`;
    taken.add(id);
    return id;
  });
}

/**
 * The headers a letter goes back with: its own without DEAD_LETTER_HEADERS, and with REQUEUED_AT_HEADER, so a letter that comes back again shows it was tried.
 */
export function requeueHeaders(headers: Record<string, unknown>, now: Date): Record<string, unknown> {
  const kept = Object.entries(headers).filter(([name]) => !DEAD_LETTER_HEADERS.includes(name));
  return { ...Object.fromEntries(kept), [REQUEUED_AT_HEADER]: now.toISOString() };
}

/** A header's text: amqplib reads long strings as strings, byte arrays as Buffers. */
export function headerText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return undefined;
}

/** An ISO 8601 string, or an AMQP timestamp (amqplib: `{'!': 'timestamp', value: <seconds>}`), as ISO. */
function isoTime(value: unknown): string | undefined {
  const text = headerText(value);
  if (text !== undefined) return Number.isNaN(Date.parse(text)) ? undefined : new Date(text).toISOString();
  if (typeof value === 'object' && value !== null && (value as { '!'?: unknown })['!'] === 'timestamp') {
    const seconds = (value as { value?: unknown }).value;
    if (typeof seconds === 'number' && Number.isFinite(seconds))
      return new Date(seconds * 1000).toISOString();
  }
  return undefined;
}

/** Where a letter goes back to; a routing key is needed, the exchange may be '' (a queue by name). */
export function destinationOf(letter: DeadLetter): { exchange: string; routingKey: string } {
  if (letter.originalExchange === undefined || !letter.originalRoutingKey) {
    throw new DeadLetterError(
      'no_original_destination',
      `dead letter "${letter.id}" does not say where it was going (no original exchange and routing key)`,
    );
  }
  return { exchange: letter.originalExchange, routingKey: letter.originalRoutingKey };
}
