import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { deterministicId } from '../../../shared/deterministic-id.ts';

/** The longest Idempotency-Key taken: UUIDs and hashes fit; the id it makes is a UUID whatever its length. */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 200;
/** Visible ASCII, as header values travel safely. */
const KEY = /^[\x21-\x7e]+$/;

export type KeyReading = { ok: true; key: string | undefined } | { ok: false; reason: string };

/**
 * The `Idempotency-Key` header, bare or as a structured-field string (`"..."`, draft-ietf-httpapi-idempotency-key-header),
 * undefined when absent; refused when empty, too long, or not visible ASCII.
 */
export function readIdempotencyKey(headers: IncomingHttpHeaders): KeyReading {
  const raw = headers['idempotency-key'];
  if (raw === undefined) return { ok: true, key: undefined };
  const value = (Array.isArray(raw) ? raw.join(',') : raw).trim();
  const key = /^"[^"]*"$/.test(value) ? value.slice(1, -1) : value;
  if (key.length === 0 || key.length > MAX_IDEMPOTENCY_KEY_LENGTH || !KEY.test(key)) {
    return {
      ok: false,
      reason: `Idempotency-Key must be 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} visible ASCII characters (a UUID is usual)`,
    };
  }
  return { ok: true, key };
}

/**
 * The command id of a request with an Idempotency-Key: the same for the same key from the same sender
 * (token name) to the same command, so that a retried request is the same command, which the pack runs
 * once and answers again from its record. Different senders' keys never collide.
 */
export function commandIdFor(sender: string, pack: string, command: string, key: string): string {
  return deterministicId('command-api', sender, pack, command, key);
}

/**
 * The command ids sent with an Idempotency-Key lately, in this process (the last `capacity`), and a digest
 * of their payload: a repeat whose broker confirm is known is answered without publishing again, and a
 * key used again with another payload is refused rather than answered with the first payload's result.
 */
export class IdempotencyMemory {
  /** Command id -> digest of its payload, oldest first. */
  readonly #seen = new Map<string, string>();
  readonly #capacity: number;

  constructor(capacity = 10_000) {
    this.#capacity = capacity;
  }

  /** `new` (not confirmed here lately), `confirmed` (with this payload), or `different` (another payload). */
  look(id: string, payload: unknown): 'new' | 'confirmed' | 'different' {
    const seen = this.#seen.get(id);
    if (seen === undefined) return 'new';
    return seen === digest(payload) ? 'confirmed' : 'different';
  }

  /** Remembers the id once the broker confirmed it; the oldest is forgotten past the capacity. */
  confirmed(id: string, payload: unknown): void {
    this.#seen.delete(id);
    this.#seen.set(id, digest(payload));
    for (const oldest of this.#seen.keys()) {
      if (this.#seen.size <= this.#capacity) break;
      this.#seen.delete(oldest);
    }
  }
}

/** Of the parsed JSON, so that whitespace a client's serializer adds or drops is the same payload. */
function digest(payload: unknown): string {
  return createHash('sha256').update(JSON.stringify(payload)).digest('base64');
}
