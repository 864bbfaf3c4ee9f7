import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  noResultAnswer,
  parseWait,
  resultAnswer,
  SENT_BY_HEADER,
} from '../../../shared/commands/command-answers.ts';
import { CommandChecks } from '../../../shared/commands/command-checks.ts';
import { findCommand } from '../../../shared/commands/command-lookup.ts';
import { PackDirectory } from '../../../shared/commands/pack-directory.ts';
import type { PackContext, Payload, SentCommand } from '../../../shared/runtime/pack-definition.ts';
import { isJsonContentType, readLimitedBody } from '../request-body.ts';
import type { HttpRoute } from '../webhook-server.ts';
import { allows, allowsPack } from './allow-list.ts';
import { type ApiAnswer, fromCommandAnswer, fromRefusal, refused, writeAnswer } from './api-answer.ts';
import type { ApiToken } from './api-tokens.ts';
import type { CommandApiConfig } from './command-api-config.ts';
import { commandIdFor, IdempotencyMemory, readIdempotencyKey } from './idempotency.ts';
import { RateLimiter } from './rate-limiter.ts';

export const COMMAND_API_PREFIX = '/v1/commands/';
/** The `source` label of the requests counter for this endpoint. */
const SOURCE = 'command-api';

/** What the API counts with: the pack's requests counter (labels `source` and `outcome`) fits. */
export interface ApiRequestCounter {
  inc(labels: { source: string; outcome: string }): void;
}

/** What the API shares with the webhooks of the same port. */
export interface CommandApiOptions {
  /** CI_WEBHOOK_MAX_BODY_BYTES: larger bodies get 413, unread. */
  maxBodyBytes: number;
  /** CI_WEBHOOK_PUBLISH_TIMEOUT: how long the broker has to confirm a command before the client gets 503. */
  publishTimeoutMs: number;
  requests: ApiRequestCounter;
  now?: () => number;
}

export interface CommandApi {
  routes: HttpRoute[];
  /** Ends the waits still open (503 stopping) and stops following the packs' announcements. */
  stop(): Promise<void>;
}

type Target = { pack: string; command: string };

/**
 * POST /v1/commands/<pack>/<Command>: publishes the command with a JSON payload for a bearer token that
 * may send it. Checks run in this order, and every refusal publishes nothing: path 404, method 405, no
 * token configured 403, missing or wrong token 401, over the token's rate 429, command not allowed 403,
 * pack or command not announced 404, bad `wait` or Idempotency-Key 400, not JSON 415, body over the limit
 * 413, unparsable 400, payload against the announced schema 422. Then 202 once the broker confirmed, or
 * with `?wait=` the result: 200, 422 for a failure event, 504 none in time; 503 when the broker did not
 * confirm within CI_WEBHOOK_PUBLISH_TIMEOUT.
 */
export async function startCommandApi(
  config: CommandApiConfig,
  context: PackContext,
  options: CommandApiOptions,
): Promise<CommandApi> {
  const { logger } = context;
  const { tokens } = config;
  // Only a configured API follows the packs: an unconfigured one refuses everything anyway.
  const directory = tokens.configured
    ? await PackDirectory.startWith({ watch: context.watch, emit: context.emit }, logger)
    : undefined;
  const checks = new CommandChecks(logger);
  const limiter = new RateLimiter<ApiToken>(config.rate, options.now);
  const memory = new IdempotencyMemory();
  const stopping = new AbortController();

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const answer = await decide(request);
    options.requests.inc({ source: SOURCE, outcome: answer.outcome });
    const fields = { source: SOURCE, status: answer.status, outcome: answer.outcome, ...answer.fields };
    const error = answer.body.error as { message?: string } | undefined;
    const reason = answer.reason ?? error?.message;
    if (answer.status >= 500 && answer.status !== 504)
      logger.error({ ...fields, reason }, 'command not taken: the client should retry');
    else if (answer.status >= 400) logger.warn({ ...fields, reason }, 'command request refused');
    else logger.info(fields, 'command request answered');
    if (answer.status === 413) {
      writeAnswer(response, { ...answer, headers: { ...answer.headers, connection: 'close' } });
      // The rest of the body was never read: drop the connection rather than drain it.
      response.once('finish', () => request.destroy());
      return;
    }
    writeAnswer(response, answer);
  }

  async function decide(request: IncomingMessage): Promise<ApiAnswer> {
    const url = new URL(request.url ?? '/', 'http://api');
    const target = targetOf(url.pathname);
    if (!target) {
      return refused(404, 'not_found', `no API at ${url.pathname}; POST to /v1/commands/<pack>/<Command>`);
    }
    if (request.method !== 'POST') {
      return refused(405, 'method_not_allowed', 'commands are POSTed', { headers: { allow: 'POST' } });
    }
    if (!tokens.configured || !directory) {
      return refused(
        403,
        'not_configured',
        'the command API has no token configured: set SWITCHBOARD_API_TOKENS',
      );
    }
    if (stopping.signal.aborted)
      return refused(503, 'stopping', 'the ci-webhook pack is stopping; send it again');
    const bearer = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(request.headers.authorization ?? '')?.[1];
    const token = bearer === undefined ? undefined : tokens.find(bearer);
    if (!token) {
      return refused(
        401,
        'unauthorized',
        bearer === undefined
          ? 'send Authorization: Bearer <token>, a token of SWITCHBOARD_API_TOKENS'
          : 'the bearer token is not one of SWITCHBOARD_API_TOKENS',
        { headers: { 'www-authenticate': 'Bearer' } },
      );
    }
    const sender = { sender: token.name, pack: target.pack, command: target.command };
    const withSender = (answer: ApiAnswer): ApiAnswer => ({
      ...answer,
      fields: { ...sender, ...answer.fields },
    });
    const rate = limiter.take(token);
    if (!rate.ok) {
      return withSender(
        refused(
          429,
          'rate_limited',
          `the token "${token.name}" sends more than SWITCHBOARD_API_RATE allows; retry in ${rate.retryAfterSeconds} s`,
          {
            headers: { 'retry-after': String(rate.retryAfterSeconds) },
          },
        ),
      );
    }
    if (!allows(token.allow, target.pack, target.command)) {
      return withSender(
        refused(
          403,
          'forbidden',
          `the token "${token.name}" may not send ${target.pack}.${target.command}; it may send ${token.allowText.join(', ')}`,
        ),
      );
    }
    return withSender(await decideAllowed(request, url, token, target));
  }

  async function decideAllowed(
    request: IncomingMessage,
    url: URL,
    token: ApiToken,
    target: Target,
  ): Promise<ApiAnswer> {
    const found = findCommand(directory as PackDirectory, target.pack, target.command, {
      asker: 'the ci-webhook pack',
      mayName: (pack) => allowsPack(token.allow, pack),
    });
    if (!found.ok) return fromRefusal(found.refusal);
    const wait = parseWait(url.searchParams.get('wait'));
    if (!wait.ok) return fromRefusal(wait.refusal);
    const idempotency = readIdempotencyKey(request.headers);
    if (!idempotency.ok) return refused(400, 'invalid_idempotency_key', idempotency.reason);
    if (!isJsonContentType(request.headers['content-type'])) {
      return refused(
        415,
        'unsupported_media_type',
        'send the payload as JSON, with Content-Type: application/json',
      );
    }
    const body = await readLimitedBody(request, options.maxBodyBytes);
    if (body === 'too_large') {
      return refused(
        413,
        'too_large',
        `the body is larger than ${options.maxBodyBytes} bytes (CI_WEBHOOK_MAX_BODY_BYTES)`,
      );
    }
    let payload: unknown;
    try {
      payload = JSON.parse(body.toString('utf8'));
    } catch (error) {
      // The parser's message quotes the body: the client sees it, the log does not (never the payload).
      return refused(400, 'invalid_json', `the body is not JSON (${(error as Error).message})`, {
        reason: 'the body is not JSON',
      });
    }
    const name = `${target.pack}.${target.command}`;
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
      return refused(422, 'invalid_input', `${name}: the body must be a JSON object, the command's payload`);
    }
    const checked = checks.check(found.announcement, found.command, payload);
    if (!checked.ok) return refused(422, 'invalid_input', `${name}: ${checked.reason}`);
    const id =
      idempotency.key === undefined
        ? undefined
        : commandIdFor(token.name, target.pack, target.command, idempotency.key);
    const seen = id === undefined ? 'new' : memory.look(id, payload);
    if (seen === 'different') {
      return refused(
        422,
        'idempotency_key_reused',
        `this Idempotency-Key was used for ${name} with another payload (command ${id}); use a new key for a new command`,
      );
    }
    if (id !== undefined && seen === 'confirmed' && wait.waitMs === undefined) {
      // Nothing new to publish: the broker has this command; the client is told what it was told before.
      return {
        status: 202,
        outcome: 'duplicate',
        body: { id, correlationId: id },
        fields: { commandId: id },
      };
    }
    const sent = await publish(target, payload as Payload, id, token, wait.waitMs);
    if ('status' in sent) return sent;
    if (id !== undefined) memory.confirmed(id, payload);
    const ids = { id: sent.id, correlationId: sent.correlationId };
    const fields = { commandId: sent.id };
    if (wait.waitMs === undefined) return { status: 202, outcome: 'accepted', body: ids, fields };
    const result = await sent.result;
    if (!result && stopping.signal.aborted) {
      const message = `the ci-webhook pack is stopping: command ${sent.id} was published and may still run`;
      return {
        status: 503,
        outcome: 'stopping',
        body: { error: { code: 'stopping', message }, ...ids },
        fields,
      };
    }
    const answer = result
      ? resultAnswer(result, found.command, ids)
      : noResultAnswer(ids, target.pack, wait.waitMs);
    return { ...fromCommandAnswer(answer), fields };
  }

  /** The command, once the broker confirmed it; or 503 when it did not in time (it may still land). */
  async function publish(
    target: Target,
    payload: Payload,
    id: string | undefined,
    token: ApiToken,
    waitMs: number | undefined,
  ): Promise<SentCommand | ApiAnswer> {
    const gaveUp = new AbortController();
    const sending = context.send(
      { pack: target.pack, name: target.command, payload, ...(id ? { id } : {}) },
      {
        headers: { [SENT_BY_HEADER]: token.name },
        ...(waitMs === undefined
          ? {}
          : { waitMs, signal: AbortSignal.any([stopping.signal, gaveUp.signal]) }),
      },
    );
    // A publish that fails after the client was told 503 must not go unhandled.
    sending.catch(() => {});
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timed_out'>((resolve) => {
      timer = setTimeout(() => resolve('timed_out'), options.publishTimeoutMs);
    });
    try {
      const sent = await Promise.race([sending, timedOut]);
      if (sent !== 'timed_out') return sent;
      gaveUp.abort();
      return refused(
        503,
        'unavailable',
        'the event bus did not confirm the command in time; send it again (with an Idempotency-Key it runs once)',
        {
          reason: `the broker did not confirm within ${options.publishTimeoutMs} ms`,
        },
      );
    } catch (error) {
      gaveUp.abort();
      return refused(
        503,
        'unavailable',
        'the event bus is unavailable; send it again (with an Idempotency-Key it runs once)',
        {
          reason: `publish failed: ${(error as Error).message}`,
        },
      );
    } finally {
      clearTimeout(timer);
    }
  }

  return {
    routes: [
      {
        prefix: COMMAND_API_PREFIX,
        handle: (request, response) => handle(request, response),
      },
    ],
    async stop() {
      stopping.abort();
      await directory?.stop();
    },
  };
}

/** `/v1/commands/<pack>/<Command>` -> its two segments, decoded; undefined for any other path. */
function targetOf(path: string): Target | undefined {
  const segments = path.slice(COMMAND_API_PREFIX.length).split('/');
  if (!path.startsWith(COMMAND_API_PREFIX) || segments.length !== 2) return undefined;
  try {
    const [pack, command] = segments.map((segment) => decodeURIComponent(segment));
    return pack && command ? { pack, command } : undefined;
  } catch {
    return undefined;
  }
}
