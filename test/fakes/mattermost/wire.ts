// The JSON shapes the REST API and the WebSocket send (server/public/model): User, Team, Channel,
// ChannelMember, Post and PostList, with the fields @mattermost/types declares and the pack may read.

import type { Channel, MattermostState, Post, Team, User } from './state.ts';

export function userJson(user: User): Record<string, unknown> {
  return {
    id: user.id,
    create_at: user.createAt,
    update_at: user.createAt,
    delete_at: 0,
    username: user.username,
    auth_service: '',
    email: user.email,
    nickname: user.nickname,
    first_name: user.firstName,
    last_name: user.lastName,
    position: '',
    roles: user.isBot ? 'system_user system_post_all' : 'system_user',
    locale: 'en',
    timezone: { automaticTimezone: '', manualTimezone: '', useAutomaticTimezone: 'true' },
    ...(user.isBot ? { is_bot: true, bot_description: '' } : {}),
  };
}

export function teamJson(team: Team): Record<string, unknown> {
  return {
    id: team.id,
    create_at: team.createAt,
    update_at: team.createAt,
    delete_at: 0,
    display_name: team.displayName,
    name: team.name,
    description: '',
    email: '',
    type: 'O',
    company_name: '',
    allowed_domains: '',
    invite_id: '',
    allow_open_invite: false,
    scheme_id: null,
    group_constrained: null,
  };
}

export function channelJson(channel: Channel, state: MattermostState): Record<string, unknown> {
  const posts = state.postsIn(channel.id);
  const roots = posts.filter((post) => post.root_id === '');
  return {
    id: channel.id,
    create_at: channel.createAt,
    update_at: channel.createAt,
    delete_at: 0,
    team_id: channel.teamId,
    type: channel.type,
    display_name: channel.displayName,
    name: channel.name,
    header: '',
    purpose: '',
    last_post_at: posts.at(-1)?.create_at ?? 0,
    last_root_post_at: roots.at(-1)?.create_at ?? 0,
    total_msg_count: posts.length,
    total_msg_count_root: roots.length,
    extra_update_at: 0,
    creator_id: '',
    scheme_id: null,
    props: null,
    group_constrained: null,
    shared: null,
    policy_id: null,
  };
}

export function memberJson(
  channelId: string,
  userId: string,
  state: MattermostState,
): Record<string, unknown> {
  const joinedAt = state.joinedAt(channelId, userId) ?? 0;
  return {
    channel_id: channelId,
    user_id: userId,
    roles: 'channel_user',
    last_viewed_at: joinedAt,
    msg_count: 0,
    mention_count: 0,
    mention_count_root: 0,
    urgent_mention_count: 0,
    msg_count_root: 0,
    notify_props: {
      desktop: 'default',
      email: 'default',
      ignore_channel_mentions: 'default',
      mark_unread: 'all',
      push: 'default',
    },
    last_update_at: joinedAt,
    scheme_guest: false,
    scheme_user: true,
    scheme_admin: false,
    explicit_roles: '',
  };
}

/** A copy of the post for the author's create answer and `posted` events (pending_post_id kept). */
export function postJson(post: Post): Post {
  return structuredClone(post);
}

/** A copy as GET answers show it: the server does not store pending_post_id, so it reads back as "". */
export function postForRead(post: Post): Post {
  return { ...structuredClone(post), pending_post_id: '' };
}

/** A PostList: `order` as given (newest first for channel pages), `posts` holding those and `extra` ones. */
export function postList(order: readonly Post[], extra: readonly Post[] = []): Record<string, unknown> {
  const posts: Record<string, Post> = {};
  for (const post of [...order, ...extra]) posts[post.id] = postForRead(post);
  return {
    order: order.map((post) => post.id),
    posts,
    next_post_id: '',
    prev_post_id: '',
    has_next: false,
    first_inaccessible_post_time: 0,
  };
}
