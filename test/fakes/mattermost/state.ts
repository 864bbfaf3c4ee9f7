// What the fake server knows: users and their tokens, teams, channels and memberships, posts, incoming hooks
// and the response_url hooks of slash commands. Plain data and lookups; who may do what is decided by the
// endpoints. Every user belongs to every team here (team membership is not modelled), as the bot usually
// does in the deployments the pack targets.

import { isValidId, newId } from './ids.ts';

export type ChannelType = 'O' | 'P' | 'D';

export interface UserSpec {
  /** Default: a fresh id. Must be a valid Mattermost id (26 lowercase letters and digits). */
  readonly id?: string;
  readonly username: string;
  /** Default "". */
  readonly firstName?: string;
  /** Default "". */
  readonly lastName?: string;
  /** Default "". */
  readonly nickname?: string;
  /** Default `<username>@fake.local`. */
  readonly email?: string;
  /** Default false. */
  readonly isBot?: boolean;
  /** A personal access token, so a test can act as this user (REST or WebSocket). Default none. */
  readonly token?: string;
}

export interface User {
  readonly id: string;
  readonly username: string;
  readonly firstName: string;
  readonly lastName: string;
  readonly nickname: string;
  readonly email: string;
  readonly isBot: boolean;
  readonly createAt: number;
}

export interface TeamSpec {
  /** Default: a fresh id. */
  readonly id?: string;
  /** The URL name, e.g. "eng". */
  readonly name: string;
  /** Default: the name. */
  readonly displayName?: string;
}

export interface Team {
  readonly id: string;
  readonly name: string;
  readonly displayName: string;
  readonly createAt: number;
}

export interface ChannelSpec {
  /** Default: a fresh id. */
  readonly id?: string;
  /** Name of a team added before. */
  readonly teamName: string;
  /** The URL name, e.g. "deploys". */
  readonly name: string;
  /** Default: the name. */
  readonly displayName?: string;
  /** "O" public, "P" private. Default "O". */
  readonly type?: 'O' | 'P';
  /** Members besides the bot, as user ids or usernames of users added before. Default none. */
  readonly members?: readonly string[];
  /** Whether the bot is a member from the start. Default true. */
  readonly botIsMember?: boolean;
}

export interface Channel {
  readonly id: string;
  /** "" for direct channels. */
  readonly teamId: string;
  readonly name: string;
  readonly displayName: string;
  readonly type: ChannelType;
  readonly createAt: number;
}

/** A post exactly as the REST API returns it (snake_case), kept up to date (reply_count, last_reply_at). */
export interface Post {
  readonly id: string;
  readonly create_at: number;
  update_at: number;
  readonly edit_at: number;
  readonly delete_at: number;
  readonly is_pinned: boolean;
  readonly user_id: string;
  readonly channel_id: string;
  readonly root_id: string;
  readonly original_id: string;
  readonly message: string;
  readonly type: string;
  readonly props: Record<string, unknown>;
  readonly hashtags: string;
  /** As sent by the creator; the real server does not store it, so GET answers carry "" (see postForRead). */
  readonly pending_post_id: string;
  readonly file_ids: readonly string[];
  reply_count: number;
  last_reply_at: number;
  readonly participants: null;
  readonly metadata: Record<string, unknown>;
}

export interface NewPost {
  readonly userId: string;
  readonly channelId: string;
  readonly message: string;
  /** Default "" (a root post). */
  readonly rootId?: string;
  /** Default {}. */
  readonly props?: Record<string, unknown>;
  /** Default "" (a normal post); "slack_attachment" when it carries attachments. */
  readonly type?: string;
  /** Default "". */
  readonly pendingPostId?: string;
  /** Default []. */
  readonly fileIds?: readonly string[];
}

export interface IncomingHookSpec {
  /** Default: a fresh id. */
  readonly id?: string;
  /** The hook's default channel; its team is the hook's team, where `channel` overrides are looked up. */
  readonly channelId: string;
  /** The hook's creator, who authors its posts. Default: the bot. */
  readonly userId?: string;
  /** Shown as props.webhook_display_name. Default "". */
  readonly displayName?: string;
  /** Default username when the request sets none. Default "" (the server then uses "webhook"). */
  readonly username?: string;
  /** Default icon when the request sets none. Default "". */
  readonly iconUrl?: string;
  /** Refuse `channel` overrides with 403, as "Lock to this channel" does. Default false. */
  readonly channelLocked?: boolean;
}

export interface IncomingHook {
  readonly id: string;
  readonly channelId: string;
  readonly teamId: string;
  readonly userId: string;
  readonly displayName: string;
  readonly username: string;
  readonly iconUrl: string;
  readonly channelLocked: boolean;
}

/** The hook behind a slash command's response_url (model.CommandWebhook). */
export interface CommandHook {
  readonly id: string;
  readonly userId: string;
  readonly channelId: string;
  readonly teamId: string;
  readonly rootId: string;
  readonly createAt: number;
  /** The command's own username/icon overrides (set on the command in Mattermost). */
  readonly commandUsername: string;
  readonly commandIconUrl: string;
  useCount: number;
}

interface Membership {
  readonly joinedAt: number;
}

interface PendingPostId {
  /** Undefined while the first request is still creating the post. */
  postId: string | undefined;
  expiresAt: number;
}

export class MattermostState {
  readonly posts: Post[] = [];
  readonly #clock: () => number;
  readonly #users = new Map<string, User>();
  readonly #tokens = new Map<string, string>();
  readonly #teams = new Map<string, Team>();
  readonly #channels = new Map<string, Channel>();
  readonly #members = new Map<string, Map<string, Membership>>();
  readonly #postsById = new Map<string, Post>();
  readonly #pending = new Map<string, PendingPostId>();
  readonly #hooks = new Map<string, IncomingHook>();
  readonly #commandHooks = new Map<string, CommandHook>();
  #lastPostAt = 0;

  /** `clock` is the wall clock in milliseconds. */
  constructor(clock: () => number) {
    this.#clock = clock;
  }

  now(): number {
    return this.#clock();
  }

  // Users and tokens.

  addUser(spec: UserSpec): User {
    const id = spec.id ?? newId();
    checkId(id, 'user');
    if (this.#users.has(id)) throw new Error(`user ${id} exists already`);
    if (this.userByName(spec.username)) throw new Error(`username ${spec.username} is taken`);
    const user: User = {
      id,
      username: spec.username,
      firstName: spec.firstName ?? '',
      lastName: spec.lastName ?? '',
      nickname: spec.nickname ?? '',
      email: spec.email ?? `${spec.username}@fake.local`,
      isBot: spec.isBot ?? false,
      createAt: this.#clock(),
    };
    this.#users.set(id, user);
    if (spec.token !== undefined) this.#tokens.set(spec.token, id);
    return user;
  }

  user(id: string): User | undefined {
    return this.#users.get(id);
  }

  userByName(username: string): User | undefined {
    const wanted = username.toLowerCase();
    for (const user of this.#users.values()) if (user.username.toLowerCase() === wanted) return user;
    return undefined;
  }

  /** The user behind a token, if the token is known. */
  session(token: string): string | undefined {
    return this.#tokens.get(token);
  }

  /** Forgets a token; says whether it was known. */
  revoke(token: string): boolean {
    return this.#tokens.delete(token);
  }

  // Teams and channels.

  addTeam(spec: TeamSpec): Team {
    const id = spec.id ?? newId();
    checkId(id, 'team');
    if (this.#teams.has(id) || this.teamByName(spec.name))
      throw new Error(`team ${spec.name} exists already`);
    const team: Team = {
      id,
      name: spec.name,
      displayName: spec.displayName ?? spec.name,
      createAt: this.#clock(),
    };
    this.#teams.set(id, team);
    return team;
  }

  team(id: string): Team | undefined {
    return this.#teams.get(id);
  }

  teamByName(name: string): Team | undefined {
    for (const team of this.#teams.values()) if (team.name === name) return team;
    return undefined;
  }

  teams(): Team[] {
    return [...this.#teams.values()];
  }

  /** Adds a channel; `botId` joins it unless spec.botIsMember is false. */
  addChannel(spec: ChannelSpec, botId: string): Channel {
    const team = this.teamByName(spec.teamName);
    if (!team) throw new Error(`unknown team ${spec.teamName}; add it with addTeam first`);
    const id = spec.id ?? newId();
    checkId(id, 'channel');
    if (this.#channels.has(id)) throw new Error(`channel ${id} exists already`);
    if (this.channelByName(team.id, spec.name))
      throw new Error(`channel ${spec.teamName}/${spec.name} exists`);
    const channel: Channel = {
      id,
      teamId: team.id,
      name: spec.name,
      displayName: spec.displayName ?? spec.name,
      type: spec.type ?? 'O',
      createAt: this.#clock(),
    };
    this.#channels.set(id, channel);
    this.#members.set(id, new Map());
    if (spec.botIsMember ?? true) this.addMember(id, botId);
    for (const member of spec.members ?? []) {
      const user = this.user(member) ?? this.userByName(member);
      if (!user) throw new Error(`unknown user ${member}; add it with addUser first`);
      this.addMember(id, user.id);
    }
    return channel;
  }

  channel(id: string): Channel | undefined {
    return this.#channels.get(id);
  }

  channelByName(teamId: string, name: string): Channel | undefined {
    for (const channel of this.#channels.values())
      if (channel.teamId === teamId && channel.name === name) return channel;
    return undefined;
  }

  /** The direct channel between two users, created (with both as members) on first use, as the server does. */
  directChannel(userA: string, userB: string): Channel {
    const name = [userA, userB].sort().join('__');
    for (const channel of this.#channels.values())
      if (channel.type === 'D' && channel.name === name) return channel;
    const channel: Channel = {
      id: newId(),
      teamId: '',
      name,
      displayName: '',
      type: 'D',
      createAt: this.#clock(),
    };
    this.#channels.set(channel.id, channel);
    this.#members.set(channel.id, new Map());
    this.addMember(channel.id, userA);
    this.addMember(channel.id, userB);
    return channel;
  }

  /** Channels of `teamId` the user is a member of. */
  channelsOf(userId: string, teamId: string): Channel[] {
    return [...this.#channels.values()].filter(
      (channel) => channel.teamId === teamId && this.isMember(channel.id, userId),
    );
  }

  // Membership.

  isMember(channelId: string, userId: string): boolean {
    return this.#members.get(channelId)?.has(userId) ?? false;
  }

  /** Joins the user; says whether it was a new membership. */
  addMember(channelId: string, userId: string): boolean {
    const members = this.#members.get(channelId);
    if (!members) throw new Error(`unknown channel ${channelId}`);
    if (members.has(userId)) return false;
    members.set(userId, { joinedAt: this.#clock() });
    return true;
  }

  /** Removes the user; says whether it was a member. */
  removeMember(channelId: string, userId: string): boolean {
    return this.#members.get(channelId)?.delete(userId) ?? false;
  }

  members(channelId: string): string[] {
    return [...(this.#members.get(channelId)?.keys() ?? [])];
  }

  joinedAt(channelId: string, userId: string): number | undefined {
    return this.#members.get(channelId)?.get(userId)?.joinedAt;
  }

  /** Read access: members, and anyone for a public channel (team_user's read_public_channel). */
  canRead(channel: Channel, userId: string): boolean {
    return this.isMember(channel.id, userId) || channel.type === 'O';
  }

  // Posts.

  /**
   * Stores a post. create_at rises strictly from one post to the next (the real clock may repeat a
   * millisecond), so `since` and `after` queries are unambiguous in tests.
   */
  createPost(input: NewPost): Post {
    const at = Math.max(this.#clock(), this.#lastPostAt + 1);
    this.#lastPostAt = at;
    const post: Post = {
      id: newId(),
      create_at: at,
      update_at: at,
      edit_at: 0,
      delete_at: 0,
      is_pinned: false,
      user_id: input.userId,
      channel_id: input.channelId,
      root_id: input.rootId ?? '',
      original_id: '',
      message: input.message,
      type: input.type ?? '',
      props: { ...input.props },
      hashtags: hashtags(input.message),
      pending_post_id: input.pendingPostId ?? '',
      file_ids: [...(input.fileIds ?? [])],
      reply_count: 0,
      last_reply_at: 0,
      participants: null,
      metadata: {},
    };
    this.posts.push(post);
    this.#postsById.set(post.id, post);
    const root = post.root_id ? this.#postsById.get(post.root_id) : undefined;
    if (root) {
      root.reply_count += 1;
      root.last_reply_at = at;
    }
    return post;
  }

  post(id: string): Post | undefined {
    return this.#postsById.get(id);
  }

  /** Posts of a channel, oldest first. */
  postsIn(channelId: string): Post[] {
    return this.posts.filter((post) => post.channel_id === channelId);
  }

  // pending_post_id deduplication (app.deduplicateCreatePost).

  /** The entry for a pending_post_id seen within its time to live, if any. */
  pendingPostId(pendingPostId: string): PendingPostId | undefined {
    const entry = this.#pending.get(pendingPostId);
    if (entry && entry.expiresAt <= this.#clock()) {
      this.#pending.delete(pendingPostId);
      return undefined;
    }
    return entry;
  }

  /** Records that a request with this pending_post_id is creating its post. */
  reservePendingPostId(pendingPostId: string, ttlMs: number): void {
    this.#pending.set(pendingPostId, { postId: undefined, expiresAt: this.#clock() + ttlMs });
  }

  /** The post was made: later requests with the id get it back until the time to live runs out. */
  completePendingPostId(pendingPostId: string, postId: string, ttlMs: number): void {
    const entry = this.#pending.get(pendingPostId);
    if (!entry) return;
    entry.postId = postId;
    entry.expiresAt = this.#clock() + ttlMs;
  }

  /** The post failed: the id may be used again at once (the server removes it from its cache). */
  releasePendingPostId(pendingPostId: string): void {
    this.#pending.delete(pendingPostId);
  }

  // Integrations.

  addIncomingHook(spec: IncomingHookSpec, botId: string): IncomingHook {
    const channel = this.channel(spec.channelId);
    if (!channel || channel.type === 'D')
      throw new Error(`unknown channel ${spec.channelId}; use addChannel first`);
    const id = spec.id ?? newId();
    checkId(id, 'hook');
    const userId = spec.userId ?? botId;
    if (!this.user(userId)) throw new Error(`unknown hook creator ${userId}`);
    const hook: IncomingHook = {
      id,
      channelId: channel.id,
      teamId: channel.teamId,
      userId,
      displayName: spec.displayName ?? '',
      username: spec.username ?? '',
      iconUrl: spec.iconUrl ?? '',
      channelLocked: spec.channelLocked ?? false,
    };
    this.#hooks.set(id, hook);
    return hook;
  }

  incomingHook(id: string): IncomingHook | undefined {
    return this.#hooks.get(id);
  }

  addCommandHook(hook: Omit<CommandHook, 'id' | 'createAt' | 'useCount'>): CommandHook {
    const saved: CommandHook = { ...hook, id: newId(), createAt: this.#clock(), useCount: 0 };
    this.#commandHooks.set(saved.id, saved);
    return saved;
  }

  commandHook(id: string): CommandHook | undefined {
    return this.#commandHooks.get(id);
  }
}

function checkId(id: string, what: string): void {
  if (!isValidId(id))
    throw new Error(
      `${what} id "${id}" is not a Mattermost id (26 lowercase letters/digits); omit it or use newId()`,
    );
}

/** The hashtags the server extracts into Post.hashtags (model.ParseHashtags, simplified). */
function hashtags(message: string): string {
  return [...message.matchAll(/(?:^|\s)(#[A-Za-z][\w.-]{2,})/g)].map((match) => match[1]).join(' ');
}
