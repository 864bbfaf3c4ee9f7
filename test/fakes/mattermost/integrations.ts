// Requests Mattermost sends out, fired by tests at the pack's HTTP server:
// - A slash command (app.tryExecuteCustomCommand + DoCommandRequest): a form POST with token, team_id,
//   team_domain, channel_id, channel_name, user_id, user_name, command ("/trigger"), text, trigger_id and
//   response_url (keys sorted, as Go's url.Values.Encode sends them), `Authorization: Token <token>`,
//   `Accept: application/json`. The server waits ServiceSettings.OutgoingIntegrationRequestsTimeout
//   (default 30 s); anything but 200 is a failure the user sees. The response_url is
//   `<site>/hooks/commands/<id>` on the server itself.
// - An outgoing webhook (app.TriggerWebhook): the payload as a form (the hook default) or JSON, token in the
//   body only. The server reads the answer as JSON whatever its status, and posts it when it has text or
//   attachments, as a thread reply to the trigger post when response_type is "comment".

import { randomBytes } from 'node:crypto';
import type { EphemeralPost, Publisher } from './events.ts';
import { AppError } from './reply.ts';
import type { MattermostState, Post } from './state.ts';
import {
  type CommandResponse,
  createWebhookPost,
  handleCommandResponse,
  type IntegrationSettings,
  parseCommandResponse,
} from './webhook-posts.ts';

/** The User-Agent of the server's outgoing HTTP client (services/httpservice). */
const USER_AGENT = 'Mattermost-Bot/1.1';

export interface SlashCommandSpec {
  /** The command's token, sent as the `token` field and `Authorization: Token <token>` (none when ""). */
  readonly token: string;
  /** The trigger, with or without the slash, e.g. "/deploy". */
  readonly command: string;
  /** What the user typed after the trigger. Default "". */
  readonly text?: string;
  /** Where the user typed it. */
  readonly channelId: string;
  /** Who typed it. */
  readonly userId: string;
  /** Default: the channel's team (required for a direct channel). */
  readonly teamId?: string;
  /** Default: a fresh one. */
  readonly triggerId?: string;
  /** The thread the command was typed in; answers go there. Default "" (none). */
  readonly rootId?: string;
  /** The command's own username override (wins over the answer's). Default "". */
  readonly commandUsername?: string;
  /** The command's own icon override. Default "". */
  readonly commandIconUrl?: string;
  /** How long to wait for the answer. Default: the fake's commandTimeoutMs (30000, the server default). */
  readonly timeoutMs?: number;
}

/** Why Mattermost would show the user an error instead of an answer. */
export type IntegrationError =
  | 'timeout'
  | 'connection_failed'
  | 'failed_resp'
  | 'failed_parse'
  | 'create_post_failed';

export interface SlashCommandResult {
  /** The answer's status; undefined when none came in time or the connection failed. */
  readonly status: number | undefined;
  /** The answer's body, parsed when it is JSON, else text; undefined when none came. */
  readonly body: unknown;
  readonly elapsedMs: number;
  /** The response_url sent with the command. */
  readonly responseUrl: string;
  readonly triggerId: string;
  /** The form fields sent. */
  readonly fields: Readonly<Record<string, string>>;
  /** Set when Mattermost would report a failure to the user. */
  readonly error: IntegrationError | undefined;
  /** Posts the answer made (an in_channel answer and its extra_responses). */
  readonly posts: readonly Post[];
  /** Ephemeral posts the answer made. */
  readonly ephemeralPosts: readonly EphemeralPost[];
}

export interface OutgoingWebhookSpec {
  /** The hook's token, sent in the body only. */
  readonly token: string;
  readonly channelId: string;
  /** Who wrote the trigger post. */
  readonly userId: string;
  /** The trigger post's message, when the fake makes that post. Default "". */
  readonly text?: string;
  /** The trigger word matched. Default: the first word of the message. */
  readonly triggerWord?: string;
  /** An existing post to use as the trigger. Default: the fake posts `text` as `userId` first. */
  readonly postId?: string;
  /** "form" (application/x-www-form-urlencoded, the hook default) or "json". Default "form". */
  readonly contentType?: 'json' | 'form';
  /** The hook's creator, who authors the answer post. Default: the bot. */
  readonly creatorId?: string;
  /** props.webhook_display_name of the answer. Default "". */
  readonly displayName?: string;
  /** The hook's default username / icon for the answer. Default "". */
  readonly username?: string;
  readonly iconUrl?: string;
  /** Default: the fake's commandTimeoutMs. */
  readonly timeoutMs?: number;
}

export interface OutgoingWebhookResult {
  readonly status: number | undefined;
  readonly body: unknown;
  readonly elapsedMs: number;
  readonly triggerPost: Post;
  /** The payload sent. */
  readonly payload: Readonly<Record<string, string | number>>;
  readonly error: IntegrationError | undefined;
  /** The post made from the answer, if any. */
  readonly post: Post | undefined;
}

export interface IntegrationsOptions {
  readonly state: MattermostState;
  readonly publisher: Publisher;
  readonly settings: IntegrationSettings;
  readonly botId: string;
  /** The fake's base URL, for response_url. */
  readonly siteUrl: () => string;
  readonly timeoutMs: number;
}

export class Integrations {
  readonly #options: IntegrationsOptions;
  readonly #closing = new AbortController();

  constructor(options: IntegrationsOptions) {
    this.#options = options;
  }

  async fireSlashCommand(url: string, spec: SlashCommandSpec): Promise<SlashCommandResult> {
    const { state, publisher, settings } = this.#options;
    const channel = state.channel(spec.channelId);
    if (!channel) throw new Error(`unknown channel ${spec.channelId}`);
    const user = state.user(spec.userId);
    if (!user) throw new Error(`unknown user ${spec.userId}`);
    const teamId = spec.teamId ?? channel.teamId;
    const team = state.team(teamId);
    if (!team) throw new Error(`unknown team ${teamId}; pass teamId for a direct channel`);
    const context = {
      userId: user.id,
      channelId: channel.id,
      teamId,
      rootId: spec.rootId ?? '',
      commandUsername: spec.commandUsername ?? '',
      commandIconUrl: spec.commandIconUrl ?? '',
    };
    const hook = state.addCommandHook(context);
    const responseUrl = `${this.#options.siteUrl()}/hooks/commands/${hook.id}`;
    const triggerId = spec.triggerId ?? randomBytes(24).toString('base64url');
    const fields: Record<string, string> = {
      token: spec.token,
      team_id: teamId,
      team_domain: team.name,
      channel_id: channel.id,
      channel_name: channel.name,
      user_id: user.id,
      user_name: user.username,
      command: `/${spec.command.replace(/^\//, '').toLowerCase()}`,
      text: spec.text ?? '',
      trigger_id: triggerId,
      response_url: responseUrl,
    };
    const headers: Record<string, string> = {
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
      'user-agent': USER_AGENT,
      ...(spec.token !== '' ? { authorization: `Token ${spec.token}` } : {}),
    };
    const answer = await this.#post(url, formBody(fields), headers, spec.timeoutMs);
    const base = { responseUrl, triggerId, fields, elapsedMs: answer.elapsedMs };
    if (answer.status === undefined)
      return {
        ...base,
        status: undefined,
        body: undefined,
        error: answer.error,
        posts: [],
        ephemeralPosts: [],
      };
    const body = parseBody(answer.contentType, answer.text);
    if (answer.status !== 200)
      return { ...base, status: answer.status, body, error: 'failed_resp', posts: [], ephemeralPosts: [] };
    let response: CommandResponse;
    try {
      response = parseCommandResponse(answer.contentType, answer.text);
    } catch {
      return { ...base, status: answer.status, body, error: 'failed_parse', posts: [], ephemeralPosts: [] };
    }
    try {
      const made = handleCommandResponse(state, publisher, settings, context, response);
      return { ...base, status: answer.status, body, error: undefined, ...made };
    } catch {
      return {
        ...base,
        status: answer.status,
        body,
        error: 'create_post_failed',
        posts: [],
        ephemeralPosts: [],
      };
    }
  }

  async fireOutgoingWebhook(url: string, spec: OutgoingWebhookSpec): Promise<OutgoingWebhookResult> {
    const { state, publisher, settings } = this.#options;
    const channel = state.channel(spec.channelId);
    if (!channel) throw new Error(`unknown channel ${spec.channelId}`);
    const user = state.user(spec.userId);
    if (!user) throw new Error(`unknown user ${spec.userId}`);
    const team = state.team(channel.teamId);
    if (!team) throw new Error('outgoing webhooks fire in team channels only');
    const triggerPost = spec.postId
      ? state.post(spec.postId)
      : publisher.post({ userId: user.id, channelId: channel.id, message: spec.text ?? '' });
    if (!triggerPost) throw new Error(`unknown post ${spec.postId}`);
    const payload: Record<string, string | number> = {
      token: spec.token,
      team_id: team.id,
      team_domain: team.name,
      channel_id: channel.id,
      channel_name: channel.name,
      timestamp: triggerPost.create_at,
      user_id: user.id,
      user_name: user.username,
      post_id: triggerPost.id,
      text: triggerPost.message,
      trigger_word: spec.triggerWord ?? triggerPost.message.split(/\s+/)[0] ?? '',
      file_ids: triggerPost.file_ids.join(','),
    };
    const json = spec.contentType === 'json';
    const headers = {
      'content-type': json ? 'application/json' : 'application/x-www-form-urlencoded',
      accept: 'application/json',
      'user-agent': USER_AGENT,
    };
    const stringFields = Object.fromEntries(
      Object.entries(payload).map(([key, value]) => [key, String(value)]),
    );
    const answer = await this.#post(
      url,
      json ? JSON.stringify(payload) : formBody(stringFields),
      headers,
      spec.timeoutMs,
    );
    const base = { triggerPost, payload, elapsedMs: answer.elapsedMs };
    if (answer.status === undefined)
      return { ...base, status: undefined, body: undefined, error: answer.error, post: undefined };
    const body = parseBody(answer.contentType, answer.text);
    if (answer.text.trim() === '')
      return { ...base, status: answer.status, body, error: undefined, post: undefined };
    let response: Record<string, unknown>;
    try {
      const value: unknown = JSON.parse(answer.text);
      if (typeof value !== 'object' || value === null || Array.isArray(value))
        throw new Error('not an object');
      response = value as Record<string, unknown>;
    } catch {
      return { ...base, status: answer.status, body, error: 'failed_parse', post: undefined };
    }
    const attachments = Array.isArray(response.attachments) ? response.attachments : undefined;
    if (typeof response.text !== 'string' && !(attachments && attachments.length > 0))
      return { ...base, status: answer.status, body, error: undefined, post: undefined };
    try {
      // The server threads a "comment" under the trigger post's id even when that post is itself a reply,
      // and then fails to create it.
      const rootId = response.response_type === 'comment' ? triggerPost.id : '';
      if (rootId !== '' && triggerPost.root_id !== '')
        throw new AppError(400, 'api.post.create_post.root_id.app_error', 'Invalid RootId parameter.');
      const post = createWebhookPost(publisher, settings, {
        userId: spec.creatorId ?? this.#options.botId,
        channel,
        text: typeof response.text === 'string' ? response.text : '',
        username: (typeof response.username === 'string' && response.username) || (spec.username ?? ''),
        iconUrl: (typeof response.icon_url === 'string' && response.icon_url) || (spec.iconUrl ?? ''),
        iconEmoji: '',
        props: {
          ...(typeof response.props === 'object' && response.props !== null ? response.props : {}),
          webhook_display_name: spec.displayName ?? '',
        },
        attachments,
        type: typeof response.type === 'string' ? response.type : '',
        rootId,
      });
      return { ...base, status: answer.status, body, error: undefined, post };
    } catch {
      return { ...base, status: answer.status, body, error: 'create_post_failed', post: undefined };
    }
  }

  /** Aborts requests in flight; their fire* calls reject. */
  close(): void {
    this.#closing.abort();
  }

  async #post(
    url: string,
    body: string,
    headers: Record<string, string>,
    timeoutMs: number | undefined,
  ): Promise<
    | { status: number; contentType: string; text: string; elapsedMs: number; error: undefined }
    | { status: undefined; elapsedMs: number; error: 'timeout' | 'connection_failed' }
  > {
    if (this.#closing.signal.aborted) throw new Error('fake Mattermost closed');
    const timeout = AbortSignal.timeout(timeoutMs ?? this.#options.timeoutMs);
    const started = performance.now();
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers,
        body,
        signal: AbortSignal.any([this.#closing.signal, timeout]),
      });
      const text = await response.text();
      return {
        status: response.status,
        contentType: response.headers.get('content-type') ?? '',
        text,
        elapsedMs: performance.now() - started,
        error: undefined,
      };
    } catch (error) {
      if (this.#closing.signal.aborted) throw new Error('fake Mattermost closed', { cause: error });
      return {
        status: undefined,
        elapsedMs: performance.now() - started,
        error: timeout.aborted ? 'timeout' : 'connection_failed',
      };
    }
  }
}

/** url.Values.Encode: keys sorted, form-encoded. */
function formBody(fields: Record<string, string>): string {
  const params = new URLSearchParams();
  for (const key of Object.keys(fields).sort()) params.append(key, fields[key] ?? '');
  return params.toString();
}

/** JSON objects and arrays parsed; anything else stays text. */
function parseBody(contentType: string, text: string): unknown {
  if (!/json/i.test(contentType) && !/^\s*[[{]/.test(text)) return text;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
