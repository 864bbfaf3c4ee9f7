import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Payload } from '../../shared/runtime/pack-definition.ts';
import type { CiWebhookEventName } from './build-events.ts';
import type { Verification } from './signatures.ts';

/** One event a delivery stands for. */
export interface InterpretedEvent {
  event: CiWebhookEventName;
  payload: Payload;
  /**
   * Names the delivery, the same on every retry of it: deliveries with the same key within the
   * dedupe window emit one event. Undefined when the source gives no way to tell a retry apart.
   */
  deliveryKey: string | undefined;
}

/** What a verified, parsed delivery amounts to. */
export type Interpretation =
  | ({ kind: 'event' } & InterpretedEvent)
  /**
   * Several events (an Alertmanager notification, a CloudEvents batch): each is deduplicated on its own
   * key; the delivery is answered 202 when any was new, 200 when every one was seen before.
   */
  | { kind: 'events'; events: InterpretedEvent[] }
  /** Authentic but nothing to announce (a ping, a queued build, an event type the pack does not map). */
  | { kind: 'ignored'; reason: string }
  /** Not the shape the source takes: 400, or 415 for a content type it cannot read. */
  | { kind: 'invalid'; reason: string; status?: 400 | 415 };

/** The answer to an OPTIONS request (the CloudEvents Web Hook abuse protection handshake). */
export interface PreflightAnswer {
  status: number;
  headers: Record<string, string>;
  message: string;
}

/** One endpoint, /webhooks/<path>: how its deliveries are authenticated and what they mean. */
export interface WebhookSource {
  /** `jobserv`, `github`, `gitlab`, `generic/<name>`: the URL path after /webhooks/, the metric label. */
  readonly name: string;
  /** Why every delivery is refused (no secret configured), or undefined when the source can verify. */
  readonly notConfigured: string | undefined;
  /**
   * The body is not necessarily JSON (CloudEvents in binary mode carry any data): the server does not
   * parse it, and interpret gets `undefined` as the payload and reads `body` itself. Default: false.
   */
  readonly rawBody?: boolean;
  /** Checks the credentials against the raw body, before anything is parsed. `url` has the query. */
  verify(headers: IncomingHttpHeaders, body: Buffer, nowMs: number, url?: URL): Verification;
  interpret(headers: IncomingHttpHeaders, payload: unknown, body: Buffer): Interpretation;
  /** Answers OPTIONS; without it OPTIONS gets 405 like any method but POST. */
  preflight?(headers: IncomingHttpHeaders): PreflightAnswer;
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
