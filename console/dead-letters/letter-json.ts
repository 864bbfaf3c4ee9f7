import type { DeadLetter } from '../../shared/bus/bus.ts';

/** Bytes of a body the list shows; GET /api/dead-letters/<id> gives the whole of it. */
export const LIST_BODY_BYTES = 4096;

/** A dead letter as the API shows it (docs/console.md, Dead letters). */
export interface DeadLetterJson {
  id: string;
  messageId: string | null;
  reason: string | null;
  originalExchange: string | null;
  originalRoutingKey: string | null;
  deadLetteredAt: string | null;
  headers: Record<string, unknown>;
  /** Of the whole body, in bytes. */
  size: number;
  /** As text when it is UTF-8, else base64 (bodyEncoding says which); cut short in the list. */
  body: string;
  bodyEncoding: 'utf8' | 'base64';
  bodyIsJson: boolean;
  bodyTruncated: boolean;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

export function letterJson(letter: DeadLetter, options: { bodyBytes?: number } = {}): DeadLetterJson {
  const limit = options.bodyBytes ?? Number.POSITIVE_INFINITY;
  const body = bodyText(letter.body, limit);
  return {
    id: letter.id,
    messageId: letter.messageId ?? null,
    reason: letter.reason ?? null,
    originalExchange: letter.originalExchange ?? null,
    originalRoutingKey: letter.originalRoutingKey ?? null,
    deadLetteredAt: letter.deadLetteredAt ?? null,
    headers: displayable(letter.headers) as Record<string, unknown>,
    size: letter.body.length,
    ...body,
  };
}

function bodyText(
  bytes: Buffer,
  limit: number,
): Pick<DeadLetterJson, 'body' | 'bodyEncoding' | 'bodyIsJson' | 'bodyTruncated'> {
  const bodyTruncated = bytes.length > limit;
  let text: string;
  try {
    text = strictUtf8.decode(bytes);
  } catch {
    // Not text at all (garbage can be anything): base64, so that not one byte is misread.
    const shown = bodyTruncated ? bytes.subarray(0, limit) : bytes;
    return { body: shown.toString('base64'), bodyEncoding: 'base64', bodyIsJson: false, bodyTruncated };
  }
  let bodyIsJson = true;
  try {
    JSON.parse(text);
  } catch {
    bodyIsJson = false;
  }
  // Cut on a character, never inside one: decoding the first `limit` bytes could split a character.
  const body = bodyTruncated ? cutToBytes(text, limit) : text;
  return { body, bodyEncoding: 'utf8', bodyIsJson, bodyTruncated };
}

function cutToBytes(text: string, limit: number): string {
  let bytes = 0;
  let end = 0;
  for (const character of text) {
    bytes += Buffer.byteLength(character);
    if (bytes > limit) break;
    end += character.length;
  }
  return text.slice(0, end);
}

/**
 * AMQP header values as JSON: amqplib reads byte arrays as Buffers and typed values (timestamps) as
 * `{'!': type, value}`; timestamps are shown as ISO 8601.
 */
function displayable(value: unknown): unknown {
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return value.map(displayable);
  if (typeof value === 'object' && value !== null) {
    const typed = value as { '!'?: unknown; value?: unknown };
    if (typeof typed['!'] === 'string' && 'value' in typed) {
      if (typed['!'] === 'timestamp' && typeof typed.value === 'number') {
        const time = new Date(typed.value * 1000);
        if (!Number.isNaN(time.getTime())) return time.toISOString();
      }
      return displayable(typed.value);
    }
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, displayable(inner)]));
  }
  return value;
}
