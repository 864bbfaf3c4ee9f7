// Workspace state of the fake Slack: channels, users, memberships, and every channel's messages.
// Shapes follow the Slack Web API objects (https://docs.slack.dev/reference/objects/conversation-object,
// .../user-object), trimmed to the fields a pack reads.

export interface ChannelSpec {
  readonly id: string;
  readonly name: string;
  /** Whether the bot is a member. Default false: chat.postMessage answers not_in_channel until it joins. */
  readonly isMember?: boolean;
  /** Default false. */
  readonly isArchived?: boolean;
  /** Private channel (type private_channel). Default false. */
  readonly isPrivate?: boolean;
  /** Other members (user ids) besides the bot. Default none. */
  readonly members?: readonly string[];
  /** Default "". */
  readonly topic?: string;
  /** Default "". */
  readonly purpose?: string;
}

export interface UserSpec {
  readonly id: string;
  readonly name: string;
  /** Default: `name`. */
  readonly realName?: string;
  /** Default false. */
  readonly isBot?: boolean;
  /** Default false. */
  readonly deleted?: boolean;
  /** Default: `${name}@example.com`. */
  readonly email?: string;
  /** Default "". */
  readonly title?: string;
  /** Default: first word of the real name. */
  readonly firstName?: string;
  /** Default: the rest of the real name. */
  readonly lastName?: string;
  /** Default: `name`. */
  readonly displayName?: string;
}

/** The identity the bot token (`tokens.bot`) belongs to, as auth.test reports it. */
export interface BotIdentity {
  readonly teamId: string;
  readonly teamName: string;
  readonly teamDomain: string;
  readonly userId: string;
  readonly userName: string;
  readonly botId: string;
  readonly appId: string;
}

export interface PostedMessage {
  /** Channel id (resolved, even when the caller passed a name). */
  readonly channel: string;
  readonly ts: string;
  readonly text: string | undefined;
  /** Parsed from the JSON string the SDK sends. */
  readonly blocks: unknown[] | undefined;
  /** Parsed from the JSON string the SDK sends. */
  readonly attachments: unknown[] | undefined;
  readonly thread_ts: string | undefined;
  /** Whether a thread reply was also sent to the channel. */
  readonly reply_broadcast: boolean;
  /** Message metadata (`{event_type, event_payload}`), parsed from the JSON string the SDK sends. */
  readonly metadata: unknown | undefined;
  /** Every argument as the fake understood it (JSON strings parsed, "true"/"false" as booleans). */
  readonly args: Readonly<Record<string, unknown>>;
  /** The `message` object returned to the caller. */
  readonly message: Readonly<Record<string, unknown>>;
}

/** A message in a channel's history, posted by the bot or by a person. */
export interface StoredMessage {
  readonly channel: string;
  readonly ts: string;
  /** The parent's ts for a thread reply; undefined for a top-level message. */
  readonly threadTs: string | undefined;
  /** A thread reply also shown in the channel (reply_broadcast). */
  readonly broadcast: boolean;
  /** The message object as conversations.history shows it, metadata left out. */
  readonly message: Readonly<Record<string, unknown>>;
  /** Shown only to callers asking for include_all_metadata, as Slack does. */
  readonly metadata: unknown | undefined;
}

interface Channel {
  readonly id: string;
  name: string;
  isArchived: boolean;
  readonly isPrivate: boolean;
  readonly members: Set<string>;
  topic: string;
  purpose: string;
  readonly created: number;
}

const CREATED = 1_600_000_000;

export class SlackState {
  readonly bot: BotIdentity;
  readonly messages: PostedMessage[] = [];
  readonly #channels = new Map<string, Channel>();
  readonly #users = new Map<string, UserSpec>();
  /** Per channel, oldest first: ts only grows, so appending keeps the order. */
  readonly #history = new Map<string, StoredMessage[]>();
  readonly #postListeners = new Set<(message: PostedMessage) => void>();
  readonly #clock: () => number;
  #lastTsMicros = 0;

  /** `clock` is the wall clock in milliseconds that message timestamps come from. */
  constructor(bot: BotIdentity, clock: () => number) {
    this.bot = bot;
    this.#clock = clock;
    this.addUser({ id: bot.userId, name: bot.userName, realName: bot.userName, isBot: true });
  }

  addChannel(spec: ChannelSpec): void {
    const members = new Set(spec.members ?? []);
    if (spec.isMember) members.add(this.bot.userId);
    this.#channels.set(spec.id, {
      id: spec.id,
      name: spec.name,
      isArchived: spec.isArchived ?? false,
      isPrivate: spec.isPrivate ?? false,
      members,
      topic: spec.topic ?? '',
      purpose: spec.purpose ?? '',
      created: CREATED,
    });
  }

  addUser(spec: UserSpec): void {
    this.#users.set(spec.id, spec);
  }

  /** Finds a channel by id, by name, or by `#name` (chat.postMessage accepts all three). */
  findChannel(idOrName: string): Channel | undefined {
    const byId = this.#channels.get(idOrName);
    if (byId) return byId;
    const name = idOrName.startsWith('#') ? idOrName.slice(1) : idOrName;
    for (const channel of this.#channels.values()) if (channel.name === name) return channel;
    return undefined;
  }

  /** A channel by id as the bot sees it: private channels it is not in look like channel_not_found. */
  visibleChannel(id: string | undefined): Channel | undefined {
    const channel = id === undefined ? undefined : this.#channels.get(id);
    if (!channel || (channel.isPrivate && !this.isBotMember(channel))) return undefined;
    return channel;
  }

  channels(): Channel[] {
    return [...this.#channels.values()];
  }

  user(id: string): UserSpec | undefined {
    return this.#users.get(id);
  }

  /** User ids in the channel (the bot included when it is a member); empty for an unknown channel. */
  members(channelId: string): string[] {
    return [...(this.#channels.get(channelId)?.members ?? [])];
  }

  isBotMember(channel: Channel): boolean {
    return channel.members.has(this.bot.userId);
  }

  /**
   * A message ts from the wall clock, as Slack's are (packs search history from "now minus a while"),
   * unique and increasing even when the clock stands still or goes back.
   */
  nextTs(): string {
    this.#lastTsMicros = Math.max(Math.floor(this.#clock() * 1000), this.#lastTsMicros + 1);
    const seconds = Math.floor(this.#lastTsMicros / 1_000_000);
    const micros = String(this.#lastTsMicros % 1_000_000).padStart(6, '0');
    return `${seconds}.${micros}`;
  }

  /** Records a bot post: in `messages`, in the channel's history, and to every post listener. */
  addPost(posted: PostedMessage, stored: StoredMessage): void {
    this.messages.push(posted);
    this.record(stored);
    // After this answer is decided: a listener that throws must not change what Slack answers.
    for (const listener of this.#postListeners) queueMicrotask(() => listener(posted));
  }

  /** Calls `listener` with every bot post from now on; returns the unsubscribe function. */
  onPost(listener: (message: PostedMessage) => void): () => void {
    this.#postListeners.add(listener);
    return () => this.#postListeners.delete(listener);
  }

  record(message: StoredMessage): void {
    const list = this.#history.get(message.channel) ?? [];
    list.push(message);
    this.#history.set(message.channel, list);
  }

  /** The channel's messages, thread replies included, oldest first. */
  history(channelId: string): readonly StoredMessage[] {
    return this.#history.get(channelId) ?? [];
  }

  /** The conversation object as conversations.* methods return it, seen by the bot. */
  conversationObject(channel: Channel): Record<string, unknown> {
    return {
      id: channel.id,
      name: channel.name,
      name_normalized: channel.name,
      is_channel: !channel.isPrivate,
      is_group: false,
      is_im: false,
      is_mpim: false,
      is_private: channel.isPrivate,
      is_archived: channel.isArchived,
      is_general: false,
      is_shared: false,
      is_ext_shared: false,
      is_org_shared: false,
      is_member: this.isBotMember(channel),
      created: channel.created,
      creator: this.bot.userId,
      num_members: channel.members.size,
      topic: { value: channel.topic, creator: '', last_set: 0 },
      purpose: { value: channel.purpose, creator: '', last_set: 0 },
    };
  }

  /** The user object as users.info returns it. */
  userObject(user: UserSpec): Record<string, unknown> {
    const realName = user.realName ?? user.name;
    const [first = '', ...rest] = realName.split(' ');
    const displayName = user.displayName ?? user.name;
    return {
      id: user.id,
      team_id: this.bot.teamId,
      name: user.name,
      deleted: user.deleted ?? false,
      real_name: realName,
      tz: 'Europe/London',
      tz_label: 'Greenwich Mean Time',
      tz_offset: 0,
      is_admin: false,
      is_owner: false,
      is_bot: user.isBot ?? false,
      is_app_user: false,
      updated: CREATED,
      profile: {
        email: user.email ?? `${user.name}@example.com`,
        title: user.title ?? '',
        first_name: user.firstName ?? first,
        last_name: user.lastName ?? rest.join(' '),
        display_name: displayName,
        display_name_normalized: displayName,
        real_name: realName,
        real_name_normalized: realName,
        team: this.bot.teamId,
      },
    };
  }
}

export type { Channel };
