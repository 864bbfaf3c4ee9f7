// Events API over HTTP, as Slack delivers it (https://docs.slack.dev/apis/events-api/): a signed JSON POST
// to the app's Request URL (https://docs.slack.dev/authentication/verifying-requests-from-slack), retried
// up to 3 times, "immediately, after 1 minute, after 5 minutes", when the answer is not 2xx or takes more
// than 3 s. Retries carry X-Slack-Retry-Num and X-Slack-Retry-Reason and the same event_id; an answer with
// `X-Slack-No-Retry: 1` stops them.

import { createHmac, randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { VERIFICATION_TOKEN } from './envelope.ts';

/** Slack's words for why it retries (the X-Slack-Retry-Reason header). */
export type RetryReason = 'http_error' | 'http_timeout' | 'connection_failed';

export interface HttpEventsOptions {
  readonly signingSecret: string;
  /** Delay before retry 1, 2, 3 ...; its length is the number of retries. */
  readonly retryDelaysMs: readonly number[];
  /** How long an attempt may take before it counts as an http_timeout. */
  readonly timeoutMs: number;
  /** Wall clock in milliseconds, for X-Slack-Request-Timestamp. */
  readonly clock: () => number;
  /** Wraps an event in its event_callback payload (envelope.ts). */
  readonly eventCallback: (event: Record<string, unknown>) => Record<string, unknown>;
}

export interface SignOptions {
  /** X-Slack-Request-Timestamp, unix seconds; the signature is computed over it. Default: now. */
  readonly timestamp?: number;
  /** A value sent as X-Slack-Signature instead of the right one. Default: the right one. */
  readonly signature?: string;
  /** How long to wait for the answer. Default: the fake's ackTimeoutMs (3000 ms, Slack's deadline). */
  readonly timeoutMs?: number;
}

export interface DeliverOptions extends SignOptions {
  /** False sends the event once, whatever the answer. Default true. */
  readonly retries?: boolean;
  /** Delay before retry 1, 2, 3 ... for this event. Default: the fake's retryDelaysMs. */
  readonly retryDelaysMs?: readonly number[];
  /** Called as each attempt gets its outcome (main.ts prints them). Default: none. */
  readonly onAttempt?: (delivery: HttpDelivery) => void;
}

/** One HTTP request the fake sent, recorded as it leaves; the outcome fields fill in when it ends. */
export interface HttpDelivery {
  readonly url: string;
  /** Headers sent, names in lower case. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  /** 0 for the first attempt, then the X-Slack-Retry-Num sent. */
  readonly retryNum: number;
  /** The answer's status; undefined until it comes, and when none came in time or the connection failed. */
  status: number | undefined;
  /** The answer's body as text, undefined when none came. */
  responseBody: string | undefined;
  /** Why the attempt failed, in Slack's words; undefined when it succeeded (or has not ended). */
  failure: RetryReason | undefined;
  /** The network error when the connection failed. */
  error: string | undefined;
}

export interface DeliveryResult {
  /** The last answer's status; undefined when none came. */
  readonly status: number | undefined;
  /** The last answer's body, parsed when it is JSON, else text; undefined when none came. */
  readonly body: unknown;
  /** Requests sent: 1 plus the retries. */
  readonly attempts: number;
  /** The event_id, the same on every attempt. */
  readonly eventId: string;
}

export interface VerificationResult {
  readonly status: number | undefined;
  readonly body: unknown;
  /** The challenge sent, which the app must echo. */
  readonly challenge: string;
}

/** `v0=` + hex HMAC-SHA256(secret, `v0:{timestamp}:{body}`). */
export function slackSignature(secret: string, timestamp: number, body: string): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}

export class HttpEvents {
  readonly deliveries: HttpDelivery[] = [];
  readonly #options: HttpEventsOptions;
  readonly #closing = new AbortController();

  constructor(options: HttpEventsOptions) {
    this.#options = options;
  }

  async deliver(
    url: string,
    event: Record<string, unknown>,
    options: DeliverOptions = {},
  ): Promise<DeliveryResult> {
    const payload = this.#options.eventCallback(event);
    const body = JSON.stringify(payload);
    const delays = options.retries === false ? [] : (options.retryDelaysMs ?? this.#options.retryDelaysMs);
    for (let retryNum = 0, reason: RetryReason | undefined; ; retryNum++) {
      const { delivery, noRetry } = await this.#attempt(url, body, options, retryNum, reason);
      options.onAttempt?.(delivery);
      const delay = delays[retryNum];
      if (!delivery.failure || noRetry || delay === undefined) {
        return {
          status: delivery.status,
          body: parseBody(delivery),
          attempts: retryNum + 1,
          eventId: String(payload.event_id),
        };
      }
      reason = delivery.failure;
      await this.#pause(delay);
    }
  }

  /** Sends url_verification once, as Slack does when a Request URL is saved. */
  async verifyUrl(url: string, options: SignOptions = {}): Promise<VerificationResult> {
    const challenge = randomBytes(24).toString('base64url');
    const body = JSON.stringify({ token: VERIFICATION_TOKEN, challenge, type: 'url_verification' });
    const { delivery } = await this.#attempt(url, body, options, 0, undefined);
    return { status: delivery.status, body: parseBody(delivery), challenge };
  }

  /** Aborts requests in flight and pending retries: their deliver() calls reject. */
  close(): void {
    this.#closing.abort();
  }

  async #attempt(
    url: string,
    body: string,
    options: SignOptions,
    retryNum: number,
    reason: RetryReason | undefined,
  ): Promise<{ delivery: HttpDelivery; noRetry: boolean }> {
    const timestamp = options.timestamp ?? Math.floor(this.#options.clock() / 1000);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'Slackbot 1.0 (+https://api.slack.com/robots)',
      'x-slack-request-timestamp': String(timestamp),
      'x-slack-signature': options.signature ?? slackSignature(this.#options.signingSecret, timestamp, body),
      ...(retryNum > 0
        ? { 'x-slack-retry-num': String(retryNum), 'x-slack-retry-reason': String(reason) }
        : {}),
    };
    const delivery: HttpDelivery = {
      url,
      headers,
      body,
      retryNum,
      status: undefined,
      responseBody: undefined,
      failure: undefined,
      error: undefined,
    };
    this.deliveries.push(delivery);
    this.#throwIfClosed();
    const timeout = AbortSignal.timeout(options.timeoutMs ?? this.#options.timeoutMs);
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers,
        body,
        signal: AbortSignal.any([this.#closing.signal, timeout]),
      });
      delivery.responseBody = await response.text();
      delivery.status = response.status;
      if (response.status < 200 || response.status > 299) delivery.failure = 'http_error';
      return { delivery, noRetry: response.headers.get('x-slack-no-retry') === '1' };
    } catch (error) {
      this.#throwIfClosed();
      // Slack does not wait past its deadline: a late answer counts as no answer.
      delivery.status = undefined;
      delivery.responseBody = undefined;
      delivery.failure = timeout.aborted ? 'http_timeout' : 'connection_failed';
      if (!timeout.aborted) delivery.error = causeOf(error);
      return { delivery, noRetry: false };
    }
  }

  async #pause(ms: number): Promise<void> {
    try {
      await sleep(ms, undefined, { signal: this.#closing.signal });
    } catch {
      this.#throwIfClosed();
    }
  }

  #throwIfClosed(): void {
    if (this.#closing.signal.aborted) throw new Error('fake Slack closed');
  }
}

/** JSON objects and arrays parsed; anything else (a plain-text challenge) stays text. */
function parseBody(delivery: HttpDelivery): unknown {
  const text = delivery.responseBody;
  if (text === undefined || delivery.status === undefined) return undefined;
  if (!/^\s*[[{]/.test(text)) return text;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** fetch says only "fetch failed"; the reason (ECONNREFUSED ...) is in its cause. */
function causeOf(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? String(error);
}
