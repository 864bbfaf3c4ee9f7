// What a Web API method gets and gives back, and the small readers every method uses. Slack answers
// errors with HTTP 200 `{ok:false, error}`; only rate limits (429) and outages (5xx) use other statuses.

export type Args = Readonly<Record<string, unknown>>;

export interface Reply {
  readonly status: number;
  readonly body: Record<string, unknown>;
  readonly headers?: Readonly<Record<string, string>>;
}

export const ok = (body: Record<string, unknown> = {}): Reply => ({
  status: 200,
  body: { ok: true, ...body },
});

export const fail = (error: string, extra: Record<string, unknown> = {}): Reply => ({
  status: 200,
  body: { ok: false, error, ...extra },
});

/** A string argument; numbers too, since JSON callers send `limit: 20` where form callers send "20". */
export function str(args: Args, key: string): string | undefined {
  const value = args[key];
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  return undefined;
}

export function flag(args: Args, key: string): boolean | undefined {
  const value = args[key];
  return typeof value === 'boolean' ? value : undefined;
}

/** A `limit` argument: `fallback` when absent or not a positive integer, at most `max`. */
export function limitArg(args: Args, fallback: number, max: number): number {
  const value = Number(str(args, 'limit') ?? fallback);
  return Number.isInteger(value) && value > 0 ? Math.min(value, max) : fallback;
}
