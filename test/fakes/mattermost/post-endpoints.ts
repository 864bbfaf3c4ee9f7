// Posts (api4/post.go): createPost, getPost, getPostThread and getPostsForChannel (Client4's getPosts,
// getPostsSince, getPostsAfter and getPostsBefore).
//
// createPost follows app.CreatePost:
// - Only channel members may post: default roles grant create_post in channels the user belongs to, and
//   create_post_public (posting to public channels one has not joined) to no one. An unknown channel is the
//   same 403, since the permission check comes before the lookup.
// - pending_post_id makes it idempotent for 30 s (pendingPostIDsCacheTTL): a repeat gets the post made the
//   first time, 201 like a fresh one. A repeat while the first is still being made gets 500
//   api.post.deduplicate_create_post.pending. The cache is keyed by the id alone, but a repeat from a user
//   who cannot read the first post makes a new one. A failed create frees the id at once.
// - A message over 16383 characters is 400 model.post.is_valid.msg.app_error. The server itself accepts an
//   empty message; the fake refuses a post with no message, attachments or files (400
//   fake.post.empty.app_error) unless rejectEmptyPosts is off, so an empty SendMessage shows in tests.
// - Posts by bot users get props.from_bot "true".

import { type Context, type Endpoint, readablePost } from './api.ts';
import { isValidId } from './ids.ts';
import { AppError, errors, ok, parseJson } from './reply.ts';
import type { Post } from './state.ts';
import { postForRead, postJson, postList } from './wire.ts';

const V4 = '^/api/v4';
/** model.PostMessageMaxRunesV2. */
const MAX_MESSAGE_RUNES = 16383;
const DEFAULT_PER_PAGE = 60;
const MAX_PER_PAGE = 200;

export const POST_ENDPOINTS: readonly Endpoint[] = [
  {
    name: 'createPost',
    method: 'POST',
    path: new RegExp(`${V4}/posts$`),
    auth: 'required',
    ownsDelay: true,
    handle: async (context) => ok(postJson(await createPost(context)), 201),
  },
  {
    name: 'getPostThread',
    method: 'GET',
    path: new RegExp(`${V4}/posts/([^/]+)/thread$`),
    auth: 'required',
    handle: ({ services, userId, params: [postId = ''] }) => {
      if (!isValidId(postId)) throw errors.invalidUrlParam('post_id');
      const post = readablePost(services, userId, postId);
      const rootId = post.root_id || post.id;
      const thread = services.state
        .postsIn(post.channel_id)
        .filter((p) => p.id === rootId || p.root_id === rootId);
      return ok(postList(thread.reverse()));
    },
  },
  {
    name: 'getPost',
    method: 'GET',
    path: new RegExp(`${V4}/posts/([^/]+)$`),
    auth: 'required',
    handle: ({ services, userId, params: [postId = ''] }) => {
      if (!isValidId(postId)) throw errors.invalidUrlParam('post_id');
      return ok(postForRead(readablePost(services, userId, postId)));
    },
  },
  {
    name: 'getPostsForChannel',
    method: 'GET',
    path: new RegExp(`${V4}/channels/([^/]+)/posts$`),
    auth: 'required',
    handle: (context) => ok(postsForChannel(context)),
  },
];

async function createPost({ services, userId, text, beforeEffect }: Context): Promise<Post> {
  const { state } = services;
  const body = parseJson(text, 'post');
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw errors.invalidParam('post');
  const input = body as Record<string, unknown>;
  const channelId = stringField(input, 'channel_id');
  const channel = state.channel(channelId);
  if (!channel || !state.isMember(channelId, userId)) throw errors.permissions();

  const message = stringField(input, 'message');
  const type = stringField(input, 'type');
  const rootId = stringField(input, 'root_id');
  const pendingPostId = stringField(input, 'pending_post_id');
  const props = isObject(input.props) ? { ...input.props } : {};
  const fileIds = Array.isArray(input.file_ids) ? input.file_ids.map(String) : [];
  if (type.startsWith('system_'))
    throw new AppError(
      400,
      'api.context.invalid_param.app_error',
      'Invalid or missing post.type in request body.',
    );
  if ([...message].length > MAX_MESSAGE_RUNES)
    throw new AppError(400, 'model.post.is_valid.msg.app_error', 'Invalid message.');
  const attachments = Array.isArray(props.attachments) ? props.attachments : [];
  if (services.rejectEmptyPosts && message.trim() === '' && attachments.length === 0 && fileIds.length === 0)
    throw new AppError(400, 'fake.post.empty.app_error', 'A post needs a message, attachments or files.');

  if (pendingPostId !== '') {
    const seen = state.pendingPostId(pendingPostId);
    if (seen && seen.postId === undefined)
      throw new AppError(
        500,
        'api.post.deduplicate_create_post.pending',
        'Rejected post since another client is making the same request.',
      );
    const earlier = seen?.postId === undefined ? undefined : state.post(seen.postId);
    const earlierChannel = earlier && state.channel(earlier.channel_id);
    if (earlier && earlierChannel && state.canRead(earlierChannel, userId)) {
      await beforeEffect();
      return earlier;
    }
    state.reservePendingPostId(pendingPostId, services.pendingPostIdTtlMs);
  }
  try {
    await beforeEffect();
    if (rootId !== '') checkRoot(services, channelId, rootId);
    if (state.user(userId)?.isBot) props.from_bot = 'true';
    const post = services.publisher.post({
      userId,
      channelId,
      message,
      rootId,
      props,
      type,
      pendingPostId,
      fileIds,
    });
    if (pendingPostId !== '')
      state.completePendingPostId(pendingPostId, post.id, services.pendingPostIdTtlMs);
    return post;
  } catch (error) {
    if (pendingPostId !== '') state.releasePendingPostId(pendingPostId);
    throw error;
  }
}

/** A reply's root must be a root post of the same channel. */
function checkRoot(services: Context['services'], channelId: string, rootId: string): void {
  const root = isValidId(rootId) ? services.state.post(rootId) : undefined;
  if (root?.root_id !== '')
    throw new AppError(400, 'api.post.create_post.root_id.app_error', 'Invalid RootId parameter.');
  if (root.channel_id !== channelId)
    throw new AppError(
      400,
      'api.post.create_post.channel_root_id.app_error',
      'Invalid ChannelId for RootId parameter.',
    );
}

/** getPostsForChannel: `since` (update_at after, ms), `after`/`before` (a post id) or a plain page. */
function postsForChannel({ services, userId, params: [channelId = ''], query }: Context): unknown {
  if (!isValidId(channelId)) throw errors.invalidUrlParam('channel_id');
  const channel = services.state.channel(channelId);
  if (!channel || !services.state.canRead(channel, userId)) throw errors.permissions();
  const after = query.get('after') ?? '';
  const before = query.get('before') ?? '';
  if (after !== '' && !isValidId(after)) throw errors.invalidUrlParam('after');
  if (before !== '' && !isValidId(before)) throw errors.invalidUrlParam('before');
  const sinceText = query.get('since') ?? '';
  const since = sinceText === '' ? 0 : Number(sinceText);
  if (!Number.isInteger(since)) throw errors.invalidUrlParam('since');
  const page = Math.max(0, Number.parseInt(query.get('page') ?? '0', 10) || 0);
  const perPage = Math.min(
    MAX_PER_PAGE,
    Math.max(1, Number.parseInt(query.get('per_page') ?? '', 10) || DEFAULT_PER_PAGE),
  );

  const all = services.state.postsIn(channelId); // oldest first
  const byId = (id: string) => all.find((post) => post.id === id);
  const withRoots = (posts: Post[]) => {
    const roots = posts.flatMap((post) => (post.root_id ? (byId(post.root_id) ?? []) : []));
    return postList([...posts].reverse(), roots);
  };
  if (since > 0) return withRoots(all.filter((post) => post.update_at > since));
  if (after !== '') {
    const anchor = byId(after);
    const newer = anchor ? all.filter((post) => post.create_at > anchor.create_at) : [];
    return withRoots(newer.slice(page * perPage, (page + 1) * perPage));
  }
  const anchor = before !== '' ? byId(before) : undefined;
  const older = before !== '' ? (anchor ? all.filter((post) => post.create_at < anchor.create_at) : []) : all;
  const newestFirst = [...older].reverse().slice(page * perPage, (page + 1) * perPage);
  return withRoots(newestFirst.reverse());
}

function stringField(input: Record<string, unknown>, key: string): string {
  const value = input[key];
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') throw errors.invalidParam(`post.${key}`);
  return value;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
