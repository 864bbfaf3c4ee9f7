import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { CodedError } from '../../shared/errors.ts';
import type { CommandContext, EmitOptions, Payload } from '../../shared/runtime/pack-definition.ts';
import { MattermostHttpError } from './mattermost-client.ts';
import { mattermostFailure } from './mattermost-errors.ts';
import type { Poster } from './posting.ts';

/** How a flow's answer reaches the user. */
export type ResponsePath = 'reply' | 'response_url' | 'post';

export interface CommandResponse {
  text: string;
  response_type: 'in_channel' | 'ephemeral';
  attachments?: unknown[];
}

export interface CommandResponder {
  respond(responseUrl: string, response: CommandResponse, context: CommandContext): Promise<ResponsePath>;
}

export interface SlashCommandServerOptions {
  host: string;
  port: number;
  tokens: readonly string[];
  waitMs: number;
  acknowledgement: string;
  emit: (name: string, payload: Payload, options?: EmitOptions) => Promise<void>;
  logger: Logger;
  /** Posts a late answer to an outgoing webhook, as a reply to the post that triggered it. Default: none. */
  poster?: Poster | undefined;
}

const MAX_BODY_BYTES = 64 * 1024;
/** Mattermost accepts follow-ups on a response_url for 30 minutes. */
const RESPONSE_URL_TTL_MS = 30 * 60 * 1000;
const OUTGOING = 'outgoing:';

interface Pending {
  answer: (response: CommandResponse) => void;
}

/**
 * Serves Mattermost's slash commands (`POST /mattermost/command`) and outgoing webhooks
 * (`POST /mattermost/outgoing`): checks the token (401 and nothing emitted when it is wrong), emits
 * SlashCommandReceived, and answers within Mattermost's 3 seconds: with the flow's RespondToCommand when
 * it arrives in time, otherwise with the acknowledgement, the flow's answer following through response_url.
 */
export class SlashCommandServer implements CommandResponder {
  readonly #options: SlashCommandServerOptions;
  readonly #tokens: Buffer[];
  readonly #pending = new Map<string, Pending>();
  /** response_urls and outgoing-webhook posts seen, so a RespondToCommand cannot send the pack anywhere else. */
  readonly #known = new Map<string, { at: number; channelId: string }>();
  #server: Server | undefined;

  constructor(options: SlashCommandServerOptions) {
    this.#options = options;
    this.#tokens = options.tokens.map(digest);
  }

  async start(): Promise<string> {
    const server = createServer((req, res) => {
      this.#handle(req, res).catch((error: unknown) => {
        this.#options.logger.warn({ reason: (error as Error).message }, 'a slash command request failed');
        if (!res.headersSent) res.writeHead(500).end();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error) =>
        reject(
          new Error(`MATTERMOST_HTTP_PORT: cannot listen on port ${this.#options.port}: ${error.message}`),
        ),
      );
      server.listen(this.#options.port, this.#options.host, () => resolve());
    });
    this.#server = server;
    return this.url;
  }

  get url(): string {
    const address = this.#server?.address() as AddressInfo | undefined;
    return `http://${this.#options.host}:${address?.port ?? this.#options.port}`;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (!server) return;
    server.closeIdleConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  async respond(
    responseUrl: string,
    response: CommandResponse,
    context: CommandContext,
  ): Promise<ResponsePath> {
    const pending = this.#pending.get(responseUrl);
    if (pending) {
      pending.answer(response);
      return 'reply';
    }
    const known = this.#known.get(responseUrl);
    if (!known || Date.now() - known.at > RESPONSE_URL_TTL_MS) {
      throw new CodedError(
        'unknown_response_url',
        'this instance did not receive that slash command, or its 30 minutes are over: answer with the responseUrl of a recent SlashCommandReceived',
      );
    }
    if (responseUrl.startsWith(OUTGOING)) {
      if (!this.#options.poster) {
        throw new CodedError(
          'response_window_passed',
          'an outgoing webhook is answered only in its reply, which was already sent; a bot account (MATTERMOST_URL, MATTERMOST_TOKEN) could post the answer instead',
        );
      }
      await this.#options.poster.post(
        {
          channel: known.channelId,
          message: response.text,
          rootId: responseUrl.slice(OUTGOING.length) || undefined,
          attachments: response.attachments,
        },
        context,
      );
      return 'post';
    }
    await this.#followUp(responseUrl, response, context);
    return 'response_url';
  }

  async #followUp(responseUrl: string, response: CommandResponse, context: CommandContext): Promise<void> {
    for (let faults = 0; ; ) {
      try {
        const answer = await fetch(responseUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(response),
          signal: context.signal,
        });
        const text = await answer.text();
        if (!answer.ok) throw new MattermostHttpError(answer.status, answer.headers, text);
        return;
      } catch (error) {
        const failure = mattermostFailure(error, 'answering through response_url');
        if (!failure.retryable || ++faults >= 5 || context.signal.aborted) throw failure;
        await sleep(failure.retryAfterMs ?? 200 * 2 ** faults, undefined, { signal: context.signal }).catch(
          () => {},
        );
      }
    }
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    const kind =
      path === '/mattermost/command' ? 'command' : path === '/mattermost/outgoing' ? 'outgoing' : undefined;
    if (!kind || req.method !== 'POST') {
      req.resume();
      reply(res, 404, { text: 'not found: POST /mattermost/command or /mattermost/outgoing' });
      return;
    }
    if (Number(req.headers['content-length']) > MAX_BODY_BYTES) {
      res.once('finish', () => req.destroy());
      reply(res, 413, { text: 'request too large' });
      return;
    }
    const fields = await readFields(req);
    if (fields === 'too_large') {
      reply(res, 413, { text: 'request too large' });
      return;
    }
    const header = /^Token\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const token = fields.token ?? header;
    if (!token || !this.#tokenMatches(token)) {
      this.#options.logger.warn(
        { kind, command: fields.command ?? fields.trigger_word },
        'refused a slash command: missing or wrong token',
      );
      reply(res, 401, { text: 'unauthorized: the token does not match MATTERMOST_COMMAND_TOKENS' });
      return;
    }
    const responseUrl =
      kind === 'command' ? (fields.response_url ?? '') : `${OUTGOING}${fields.post_id ?? ''}`;
    const payload = {
      command: kind === 'command' ? (fields.command ?? '') : (fields.trigger_word ?? ''),
      text: fields.text ?? '',
      channelId: fields.channel_id ?? '',
      channelName: fields.channel_name ?? '',
      userId: fields.user_id ?? '',
      userName: fields.user_name ?? '',
      teamId: fields.team_id ?? '',
      responseUrl,
      ...(kind === 'outgoing' ? { postId: fields.post_id ?? '' } : { triggerId: fields.trigger_id ?? '' }),
    };
    // Before the emit: a fast flow may answer before the emit resolves.
    const answered = new Promise<CommandResponse>((resolve) =>
      this.#pending.set(responseUrl, { answer: resolve }),
    );
    this.#known.set(responseUrl, { at: Date.now(), channelId: payload.channelId });
    this.#forgetExpired();
    try {
      await this.#options.emit('SlashCommandReceived', payload, {
        ...(fields.trigger_id ? { dedupeKey: fields.trigger_id } : {}),
      });
    } catch (error) {
      this.#pending.delete(responseUrl);
      this.#options.logger.error({ reason: (error as Error).message }, 'could not publish a slash command');
      reply(res, 200, {
        response_type: 'ephemeral',
        text: 'Switchboard cannot take commands right now; try again in a minute.',
      });
      return;
    }
    const timer = sleep(this.#options.waitMs).then(() => undefined);
    const response = await Promise.race([answered, timer]);
    this.#pending.delete(responseUrl);
    if (response) {
      reply(res, 200, kind === 'outgoing' ? { ...response, response_type: 'comment' } : response);
      return;
    }
    // The flow is slower than Mattermost waits: acknowledge now, its answer follows through response_url.
    if (kind === 'outgoing') res.writeHead(200).end();
    else reply(res, 200, { response_type: 'ephemeral', text: this.#options.acknowledgement });
  }

  #tokenMatches(token: string): boolean {
    const presented = digest(token);
    // Digests have one length, so the comparison takes the same time whatever the token.
    return this.#tokens.some((expected) => timingSafeEqual(expected, presented));
  }

  #forgetExpired(): void {
    const now = Date.now();
    for (const [url, entry] of this.#known) if (now - entry.at > RESPONSE_URL_TTL_MS) this.#known.delete(url);
  }
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

/** The request's fields, from a form (slash commands, outgoing webhooks) or JSON (outgoing webhooks). */
async function readFields(req: IncomingMessage): Promise<Record<string, string> | 'too_large'> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) {
      req.destroy();
      return 'too_large';
    }
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if ((req.headers['content-type'] ?? '').includes('application/json')) {
    try {
      const json = JSON.parse(text) as Record<string, unknown>;
      return Object.fromEntries(Object.entries(json).map(([key, value]) => [key, String(value ?? '')]));
    } catch {
      return {};
    }
  }
  return Object.fromEntries(new URLSearchParams(text));
}
