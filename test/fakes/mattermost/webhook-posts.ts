// Posts made by integrations, as app/webhook.go and app/command.go make them:
// - createWebhookPost (incoming hooks, outgoing-hook answers): authored by the hook's creator, props
//   from_webhook "true", override_username (the request's, the hook's, else "webhook") and
//   override_icon_url when overrides are allowed, webhook_display_name, and Slack attachments as
//   props.attachments with type "slack_attachment".
// - handleCommandResponse (slash command answers, immediate or through response_url): authored by the user
//   who typed the command, with from_webhook "true"; "in_channel" makes a post, "ephemeral" (or no
//   response_type) an ephemeral post for that user only.

import type { EphemeralPost, Publisher } from './events.ts';
import { AppError } from './reply.ts';
import type { Channel, MattermostState, Post } from './state.ts';

export interface IntegrationSettings {
  /** ServiceSettings.EnablePostUsernameOverride and EnablePostIconOverride together. */
  readonly allowOverrides: boolean;
  /** How long a response_url stays usable (model.CommandWebhookLifetime, 30 minutes). */
  readonly responseUrlLifetimeMs: number;
  /** How many follow-ups a response_url takes (CommandWebhook().TryUse(id, 5)). */
  readonly responseUrlMaxUses: number;
}

/** One request to an incoming hook, whatever the answer. */
export interface HookPost {
  readonly hookId: string;
  readonly contentType: string;
  /** The payload as decoded (JSON body or the payload= form field); undefined when it could not be. */
  readonly payload: Record<string, unknown> | undefined;
  status: number;
  /** The AppError id when refused. */
  error: string | undefined;
  post: Post | undefined;
}

/** One request to a slash command's response_url, whatever the answer. */
export interface FollowUp {
  /** The id in /hooks/commands/{id}. */
  readonly hookId: string;
  readonly contentType: string;
  readonly response: CommandResponse | undefined;
  status: number;
  error: string | undefined;
  /** Posts made in channels (in_channel answers and their extra_responses). */
  readonly posts: Post[];
  readonly ephemeralPosts: EphemeralPost[];
}

/** model.CommandResponse, what a slash command endpoint (or a response_url follow-up) answers. */
export interface CommandResponse {
  readonly response_type?: string;
  readonly text?: string;
  readonly username?: string;
  readonly channel_id?: string;
  readonly icon_url?: string;
  readonly type?: string;
  readonly props?: Record<string, unknown>;
  readonly goto_location?: string;
  readonly skip_slack_parsing?: boolean;
  readonly attachments?: unknown[] | null;
  readonly extra_responses?: CommandResponse[] | null;
}

/** Who ran a command, where: the part of model.CommandArgs and model.Command a response needs. */
export interface CommandContext {
  readonly userId: string;
  readonly channelId: string;
  readonly rootId: string;
  /** Overrides set on the command itself; they win over the response's. */
  readonly commandUsername: string;
  readonly commandIconUrl: string;
}

export interface WebhookPostInput {
  readonly userId: string;
  readonly channel: Channel;
  readonly text: string;
  readonly username: string;
  readonly iconUrl: string;
  readonly iconEmoji: string;
  readonly props: Record<string, unknown>;
  readonly attachments: unknown[] | undefined;
  readonly type: string;
  readonly rootId: string;
}

/** app.CreateWebhookPost. */
export function createWebhookPost(
  publisher: Publisher,
  settings: IntegrationSettings,
  input: WebhookPostInput,
): Post {
  if (input.type.startsWith('system_'))
    throw new AppError(400, 'api.context.invalid_param.app_error', 'Invalid post.type parameter.');
  const props: Record<string, unknown> = { from_webhook: 'true' };
  if (settings.allowOverrides) {
    props.override_username = input.username || 'webhook';
    if (input.iconUrl) props.override_icon_url = input.iconUrl;
    // As CreateWebhookPost does: an emoji goes into override_icon_url too, replacing a URL.
    if (input.iconEmoji) props.override_icon_url = input.iconEmoji;
  }
  for (const [key, value] of Object.entries(input.props)) {
    // Callers cannot set these; props.attachments counts only when it came from the top-level field.
    if (['override_icon_url', 'override_username', 'from_webhook', 'attachments'].includes(key)) continue;
    props[key] = value;
  }
  let type = input.type;
  if (input.attachments && input.attachments.length > 0) {
    props.attachments = input.attachments;
    type = 'slack_attachment';
  }
  return publisher.post(
    {
      userId: input.userId,
      channelId: input.channel.id,
      message: slackLinksToMarkdown(processSlackText(input.text)),
      rootId: input.rootId,
      props,
      type,
    },
    false,
  );
}

/** app.HandleCommandResponse: the response, then each of its extra_responses. */
export function handleCommandResponse(
  state: MattermostState,
  publisher: Publisher,
  settings: IntegrationSettings,
  context: CommandContext,
  response: CommandResponse,
): { posts: Post[]; ephemeralPosts: EphemeralPost[] } {
  const posts: Post[] = [];
  const ephemeralPosts: EphemeralPost[] = [];
  let failed = false;
  for (const each of [response, ...(response.extra_responses ?? [])]) {
    try {
      const made = commandResponsePost(state, publisher, settings, context, each);
      if (made?.kind === 'post') posts.push(made.post);
      if (made?.kind === 'ephemeral') ephemeralPosts.push(made.post);
    } catch {
      failed = true;
    }
  }
  if (failed)
    throw new AppError(
      500,
      'api.command.execute_command.create_post_failed.app_error',
      'Command has failed to post response. Please contact your System Administrator.',
    );
  return { posts, ephemeralPosts };
}

/** app.HandleCommandResponsePost + CreateCommandPost. */
function commandResponsePost(
  state: MattermostState,
  publisher: Publisher,
  settings: IntegrationSettings,
  context: CommandContext,
  response: CommandResponse,
): { kind: 'post'; post: Post } | { kind: 'ephemeral'; post: EphemeralPost } | undefined {
  let channelId = context.channelId;
  if (response.channel_id) {
    if (!state.isMember(response.channel_id, context.userId))
      throw new AppError(
        403,
        'api.command.command_post.forbidden.app_error',
        'Specified user is not a member of specified channel.',
      );
    channelId = response.channel_id;
  }
  const props: Record<string, unknown> = { ...response.props };
  if (settings.allowOverrides) {
    const username = context.commandUsername || response.username;
    if (username) props.override_username = username;
    props.override_icon_url = context.commandIconUrl || response.icon_url || '';
  }
  // A custom command's answer always counts as a bot post.
  props.from_webhook = 'true';
  const rawText = response.text ?? '';
  const text = response.skip_slack_parsing ? rawText : slackLinksToMarkdown(processSlackText(rawText));
  let type = response.type ?? '';
  if (type.startsWith('system_'))
    throw new AppError(400, 'api.context.invalid_param.app_error', 'Invalid post.type parameter.');
  const attachments = response.attachments ?? undefined;
  if (attachments && attachments.length > 0) {
    props.attachments = attachments;
    type = 'slack_attachment';
  }
  if (response.response_type === 'in_channel') {
    if (!state.channel(channelId))
      throw new AppError(404, 'app.channel.get.existing.app_error', 'Unable to find the existing channel.');
    const post = publisher.post({
      userId: context.userId,
      channelId,
      message: text,
      rootId: context.rootId,
      props,
      type,
    });
    return { kind: 'post', post };
  }
  const ephemeral =
    response.response_type === undefined ||
    response.response_type === '' ||
    response.response_type === 'ephemeral';
  if (ephemeral && (rawText !== '' || attachments !== undefined)) {
    const post = publisher.ephemeral(context.userId, {
      user_id: context.userId,
      channel_id: channelId,
      root_id: context.rootId,
      message: text,
      props,
    });
    return { kind: 'ephemeral', post };
  }
  return undefined;
}

/**
 * model.CommandResponseFromHTTPBody: a JSON body when the Content-Type says so, otherwise the whole body
 * is the text of an ephemeral answer.
 */
export function parseCommandResponse(contentType: string, text: string): CommandResponse {
  if (mediaType(contentType) !== 'application/json') return { text };
  const value: unknown = JSON.parse(text);
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new Error('not a JSON object');
  return value as CommandResponse;
}

export function mediaType(contentType: string): string {
  return (contentType.split(';')[0] ?? '').trim().toLowerCase();
}

/** app.ProcessSlackText, the parts that matter here: Slack's special mentions. */
export function processSlackText(text: string): string {
  return text
    .replaceAll('<!channel>', '@channel')
    .replaceAll('<!here>', '@here')
    .replaceAll('<!all>', '@all');
}

/** model.ParseSlackLinksToMarkdown: `<url|text>` becomes `[text](url)`. */
export function slackLinksToMarkdown(text: string): string {
  return text.replace(/<([^\n<|>]+)\|([^|\n>]+)>/g, '[$2]($1)');
}
