import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Payload } from '../../shared/runtime/pack-definition.ts';
import type { CiWebhookEventName } from './build-events.ts';
import type { Verification } from './signatures.ts';

/** What a verified, parsed delivery amounts to. */
export type Interpretation =
  | {
      kind: 'event';
      event: CiWebhookEventName;
      payload: Payload;
      /**
       * Names the delivery, the same on every retry of it: deliveries with the same key within the
       * dedupe window emit one event. Undefined when the source gives no way to tell a retry apart.
       */
      deliveryKey: string | undefined;
    }
  /** Authentic but nothing to announce (a ping, a queued build, an event type the pack does not map). */
  | { kind: 'ignored'; reason: string }
  /** JSON, but not the shape the source sends. */
  | { kind: 'invalid'; reason: string };

/** One endpoint, /webhooks/<path>: how its deliveries are authenticated and what they mean. */
export interface WebhookSource {
  /** `jobserv`, `github`, `gitlab`, `generic/<name>`: the URL path after /webhooks/, the metric label. */
  readonly name: string;
  /** Why every delivery is refused (no secret configured), or undefined when the source can verify. */
  readonly notConfigured: string | undefined;
  /** Checks the credentials against the raw body, before anything is parsed. */
  verify(headers: IncomingHttpHeaders, body: Buffer, nowMs: number): Verification;
  interpret(headers: IncomingHttpHeaders, payload: unknown, body: Buffer): Interpretation;
}

/** A header's value (the first, when repeated), or undefined. */
export function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

/** Stands in for a delivery id when the source sends none: a retry resends the same bytes. */
export function bodyDigest(body: Buffer): string {
  return `sha256:${createHash('sha256').update(body).digest('hex')}`;
}

export type JsonObject = Record<string, unknown>;

export function asObject(value: unknown): JsonObject | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as JsonObject)
    : undefined;
}

/** A string field, or null when absent or empty. Numbers become strings (ids are numbers in some sources). */
export function text(object: JsonObject | undefined, key: string): string | null {
  const value = object?.[key];
  if (typeof value === 'string') return value === '' ? null : value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return null;
}
