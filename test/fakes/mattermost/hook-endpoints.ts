// The two unauthenticated hook routes (web/webhook.go):
// - POST /hooks/{id}, incoming webhooks (app.HandleIncomingWebhook). The body is JSON, or a form whose
//   `payload` field holds the JSON. Checks run in the server's order: a payload that does not parse is 400
//   model.incoming_hook.parse_data.app_error; no text and no attachments 400 web.incoming_webhook.text;
//   an unknown hook 400 web.incoming_webhook.invalid (400, not 404: the server wraps the lookup failure);
//   `channel` as "name" or "#name" is looked up in the hook's team (404 web.incoming_webhook.channel when
//   missing), "@username" posts to the direct channel between the hook's creator and that user (400
//   web.incoming_webhook.user when unknown); a locked hook refuses other channels (403), and a private
//   channel needs the creator as a member (403). Success is 200 `text/plain` "ok".
// - POST /hooks/commands/{id}, a slash command's response_url (app.HandleCommandWebhook): a JSON
//   CommandResponse (or plain text, taken as an ephemeral answer); unknown or older than 30 minutes is 404
//   app.command_webhook.get.missing, the sixth use 400 app.command_webhook.try_use.invalid.

import type { Context, Endpoint } from './api.ts';
import { AppError, plainText } from './reply.ts';
import type { Channel, IncomingHook } from './state.ts';
import {
  type CommandResponse,
  createWebhookPost,
  type FollowUp,
  type HookPost,
  handleCommandResponse,
  mediaType,
  parseCommandResponse,
} from './webhook-posts.ts';

export const HOOK_ENDPOINTS: readonly Endpoint[] = [
  {
    name: 'commandWebhook',
    method: 'POST',
    path: /^\/hooks\/commands\/([A-Za-z0-9]+)$/,
    auth: 'none',
    handle: (context) => commandWebhook(context),
  },
  {
    name: 'incomingWebhook',
    method: 'POST',
    path: /^\/hooks\/([A-Za-z0-9]+)$/,
    auth: 'none',
    handle: (context) => incomingWebhook(context),
  },
];

interface IncomingRequest {
  readonly text?: unknown;
  readonly channel?: unknown;
  readonly username?: unknown;
  readonly icon_url?: unknown;
  readonly icon_emoji?: unknown;
  readonly attachments?: unknown;
  readonly props?: unknown;
  readonly type?: unknown;
}

function incomingWebhook(context: Context) {
  const { services, params, contentType, text } = context;
  const hookId = params[0] ?? '';
  const payloadText =
    mediaType(contentType) === 'application/x-www-form-urlencoded'
      ? (new URLSearchParams(text).get('payload') ?? '')
      : text;
  const payload = decodePayload(payloadText);
  const record: HookPost = { hookId, contentType, payload, status: 0, error: undefined, post: undefined };
  services.hookPosts.push(record);
  try {
    if (!payload)
      throw new AppError(400, 'model.incoming_hook.parse_data.app_error', 'Unable to parse incoming data.');
    const request = payload as IncomingRequest;
    const message = asString(request.text);
    // The server tests for a nil slice: `"attachments": []` passes, a missing field does not.
    const attachments = Array.isArray(request.attachments) ? request.attachments : undefined;
    if (message === '' && attachments === undefined)
      throw new AppError(400, 'web.incoming_webhook.text.app_error', 'No text specified.');
    const hook = services.state.incomingHook(hookId);
    if (!hook) throw new AppError(400, 'web.incoming_webhook.invalid.app_error', 'Invalid webhook.');
    const channel = targetChannel(context, hook, asString(request.channel));
    if (hook.channelLocked && channel.id !== hook.channelId)
      throw new AppError(
        403,
        'web.incoming_webhook.channel_locked.app_error',
        'This webhook is not permitted to post to the requested channel.',
      );
    if (channel.type !== 'O' && !services.state.isMember(channel.id, hook.userId))
      throw new AppError(
        403,
        'web.incoming_webhook.permissions.app_error',
        'Inappropriate channel permissions.',
      );
    record.post = createWebhookPost(services.publisher, services.settings, {
      userId: hook.userId,
      channel,
      text: message,
      username: asString(request.username) || hook.username,
      iconUrl: asString(request.icon_url) || hook.iconUrl,
      iconEmoji: asString(request.icon_emoji),
      props: { ...(isObject(request.props) ? request.props : {}), webhook_display_name: hook.displayName },
      attachments,
      type: asString(request.type),
      rootId: '',
    });
    record.status = 200;
    return plainText('ok');
  } catch (error) {
    if (error instanceof AppError) {
      record.status = error.status;
      record.error = error.id;
    }
    throw error;
  }
}

function targetChannel({ services }: Context, hook: IncomingHook, name: string): Channel {
  const { state } = services;
  if (name === '') {
    const channel = state.channel(hook.channelId);
    if (!channel)
      throw new AppError(404, 'app.channel.get.existing.app_error', 'Unable to find the existing channel.');
    return channel;
  }
  if (name.startsWith('@')) {
    const user = state.userByName(name.slice(1));
    if (!user) throw new AppError(400, 'web.incoming_webhook.user.app_error', "Couldn't find the user.");
    return state.directChannel(hook.userId, user.id);
  }
  const channel = state.channelByName(hook.teamId, name.startsWith('#') ? name.slice(1) : name);
  if (!channel)
    throw new AppError(404, 'web.incoming_webhook.channel.app_error', "Couldn't find the channel.");
  return channel;
}

function commandWebhook({ services, params, contentType, text }: Context) {
  const { state } = services;
  const hookId = params[0] ?? '';
  let response: CommandResponse | undefined;
  try {
    response = parseCommandResponse(contentType, text);
  } catch {
    response = undefined;
  }
  const record: FollowUp = {
    hookId,
    contentType,
    response,
    status: 0,
    error: undefined,
    posts: [],
    ephemeralPosts: [],
  };
  services.followUps.push(record);
  try {
    if (!response)
      throw new AppError(400, 'web.command_webhook.parse.app_error', 'Unable to parse incoming data.');
    const hook = state.commandHook(hookId);
    if (!hook || state.now() - hook.createAt > services.settings.responseUrlLifetimeMs)
      throw new AppError(404, 'app.command_webhook.get.missing', 'Unable to find the webhook.');
    if (hook.useCount >= services.settings.responseUrlMaxUses)
      throw new AppError(400, 'app.command_webhook.try_use.invalid', 'Invalid webhook.');
    hook.useCount += 1;
    const made = handleCommandResponse(state, services.publisher, services.settings, hook, response);
    record.posts.push(...made.posts);
    record.ephemeralPosts.push(...made.ephemeralPosts);
    record.status = 200;
    return plainText('ok');
  } catch (error) {
    if (error instanceof AppError) {
      record.status = error.status;
      record.error = error.id;
    }
    throw error;
  }
}

/**
 * model.IncomingWebhookRequestFromJSON: JSON, retried once with raw control characters escaped, since
 * hand-written payloads (curl in the seed) often carry literal newlines inside strings.
 */
function decodePayload(text: string): Record<string, unknown> | undefined {
  for (const candidate of [text, text.replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t')]) {
    try {
      const value: unknown = JSON.parse(candidate);
      return isObject(value) ? value : undefined;
    } catch {
      // try the next form
    }
  }
  return undefined;
}

function asString(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
