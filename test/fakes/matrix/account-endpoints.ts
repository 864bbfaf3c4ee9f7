// Endpoints about the server and the account: what matrix-js-sdk's startClient() asks before and while it
// syncs (versions, pushrules, filter, sync, capabilities), plus login, logout, whoami and profiles.

import { type Context, type Endpoint, V3 } from './api.ts';
import { defaultPushRules } from './push-rules.ts';
import { MatrixError, ok, type Reply } from './reply.ts';
import type { Session } from './state.ts';
import { buildSync, parseStreamToken, type SyncResult, timelineLimitOf } from './sync.ts';

/**
 * Spec versions announced by /versions. v1.4 or later makes matrix-js-sdk assume stable thread support
 * (Client.doesServerSupportThread); no version listed here turns on anything the fake does not serve.
 */
const SPEC_VERSIONS = [
  'r0.0.1',
  'r0.1.0',
  'r0.2.0',
  'r0.3.0',
  'r0.4.0',
  'r0.5.0',
  'r0.6.0',
  'r0.6.1',
  ...Array.from({ length: 12 }, (_, i) => `v1.${i + 1}`),
];

export const ACCOUNT_ENDPOINTS: readonly Endpoint[] = [
  {
    name: 'versions',
    method: 'GET',
    path: /^\/_matrix\/client\/versions$/,
    auth: 'optional',
    handle: () => ok({ versions: SPEC_VERSIONS, unstable_features: {} }),
  },
  {
    name: 'login',
    method: 'GET',
    path: route('/login'),
    auth: 'none',
    handle: () => ok({ flows: [{ type: 'm.login.password' }] }),
  },
  { name: 'login', method: 'POST', path: route('/login'), auth: 'none', handle: login },
  {
    name: 'logout',
    method: 'POST',
    path: route('/logout'),
    auth: 'required',
    handle: (context) => {
      const { accessToken } = sessionOf(context);
      context.services.state.revoke(accessToken);
      context.services.waiters.wake(accessToken);
      return ok();
    },
  },
  {
    name: 'whoami',
    method: 'GET',
    path: route('/account/whoami'),
    auth: 'required',
    handle: (context) => {
      const { userId, deviceId } = sessionOf(context);
      return ok({ user_id: userId, device_id: deviceId, is_guest: false });
    },
  },
  {
    name: 'capabilities',
    method: 'GET',
    path: route('/capabilities'),
    auth: 'required',
    handle: () =>
      ok({
        capabilities: {
          'm.change_password': { enabled: false },
          'm.room_versions': { default: '10', available: { '10': 'stable' } },
          'm.set_displayname': { enabled: false },
          'm.set_avatar_url': { enabled: false },
          'm.3pid_changes': { enabled: false },
        },
      }),
  },
  {
    name: 'pushrules',
    method: 'GET',
    path: route('/pushrules/?'),
    auth: 'required',
    handle: (context) => ok(defaultPushRules(sessionOf(context).userId)),
  },
  {
    name: 'filter',
    method: 'POST',
    path: route('/user/([^/]+)/filter'),
    auth: 'required',
    handle: (context) => {
      const userId = ownUser(context, 'Can only create filters for your own user');
      return ok({ filter_id: context.services.state.saveFilter(userId, context.body) });
    },
  },
  {
    name: 'filter',
    method: 'GET',
    path: route('/user/([^/]+)/filter/([^/]+)'),
    auth: 'required',
    handle: (context) => {
      const userId = ownUser(context, 'Cannot get filters for other users');
      const filter = context.services.state.filter(userId, context.params[1] ?? '');
      if (!filter) throw new MatrixError(404, 'M_NOT_FOUND', 'No such filter');
      return ok(filter);
    },
  },
  { name: 'sync', method: 'GET', path: route('/sync'), auth: 'required', handle: sync },
  {
    name: 'profile',
    method: 'GET',
    path: route('/profile/([^/]+)'),
    auth: 'none',
    handle: (context) => ok({ displayname: profileOf(context).displayName }),
  },
  {
    name: 'profile',
    method: 'GET',
    path: route('/profile/([^/]+)/([^/]+)'),
    auth: 'none',
    handle: (context) => {
      const user = profileOf(context);
      if (context.params[1] !== 'displayname')
        throw new MatrixError(404, 'M_NOT_FOUND', 'The requested profile key does not exist.');
      return ok({ displayname: user.displayName });
    },
  },
];

function route(path: string): RegExp {
  return new RegExp(`^${V3}${path}$`);
}

function sessionOf(context: Context): Session {
  if (!context.session) throw new Error('endpoint needs auth "required"');
  return context.session;
}

function ownUser(context: Context, message: string): string {
  const { userId } = sessionOf(context);
  if (context.params[0] !== userId) throw new MatrixError(403, 'M_FORBIDDEN', message);
  return userId;
}

function profileOf(context: Context): { readonly displayName: string } {
  const user = context.services.state.user(context.params[0] ?? '');
  if (!user) throw new MatrixError(404, 'M_NOT_FOUND', 'Profile was not found');
  return user;
}

/**
 * POST /login with m.login.password. matrix-js-sdk's loginWithPassword sends the pre-r0.4 top-level `user`;
 * current clients send `identifier: {type: "m.id.user", user}`. Both name a localpart or a full user id.
 */
function login(context: Context): Reply {
  const { body, services } = context;
  if (body.type !== 'm.login.password')
    throw new MatrixError(400, 'M_UNKNOWN', `Unknown login type ${String(body.type)}`);
  const identifier = body.identifier as { type?: unknown; user?: unknown } | undefined;
  if (identifier !== undefined && identifier.type !== 'm.id.user')
    throw new MatrixError(400, 'M_UNKNOWN', `Unknown login identifier type ${String(identifier.type)}`);
  const user = identifier?.user ?? body.user;
  if (typeof user !== 'string') throw new MatrixError(400, 'M_MISSING_PARAM', 'Missing parameter: user');
  const deviceId = typeof body.device_id === 'string' ? body.device_id : undefined;
  const session =
    typeof body.password === 'string' ? services.state.login(user, body.password, deviceId) : undefined;
  if (!session) throw new MatrixError(403, 'M_FORBIDDEN', 'Invalid username or password');
  return ok({
    user_id: session.userId,
    access_token: session.accessToken,
    device_id: session.deviceId,
    home_server: services.state.serverName,
  });
}

/** GET /sync: answers at once when there is news (or no `since`), otherwise holds up to `timeout` ms. */
async function sync(context: Context): Promise<Reply> {
  const { services, query } = context;
  const session = sessionOf(context);
  const sinceParam = query.get('since');
  const since = sinceParam ? parseStreamToken(sinceParam, 'since') : undefined;
  const timeout = Math.max(0, Number(query.get('timeout') ?? 0) || 0);
  const filterParam = query.get('filter') ?? undefined;
  const timelineLimit = timelineLimitOf(filterFrom(context, session, filterParam)) ?? services.timelineLimit;
  const syncQuery = {
    userId: session.userId,
    viewerScope: txnScopeOf(session, services.txnScope),
    since,
    timelineLimit,
  };
  const build = () => buildSync(services.state, syncQuery, services.clock());
  let result: SyncResult = build();
  if (result.empty && since !== undefined && timeout > 0) {
    const poll = () => {
      const next = build();
      return next.empty ? undefined : next;
    };
    // A wait that ends without news is answered as of now: next_batch moves past events the user cannot see.
    result = (await services.waiters.wait(session.accessToken, poll, timeout, context.signal)) ?? build();
  }
  return ok(result.body);
}

function filterFrom(
  context: Context,
  session: Session,
  filter: string | undefined,
): Record<string, unknown> | undefined {
  if (filter === undefined || filter === '') return undefined;
  if (filter.trimStart().startsWith('{')) {
    try {
      return JSON.parse(filter) as Record<string, unknown>;
    } catch {
      throw new MatrixError(400, 'M_INVALID_PARAM', 'Invalid filter JSON');
    }
  }
  const stored = context.services.state.filter(session.userId, filter);
  if (!stored) throw new MatrixError(404, 'M_NOT_FOUND', 'No such filter');
  return stored;
}

/**
 * Who a transaction id belongs to. Since Matrix v1.7 (MSC3970) and in Synapse, transaction ids are scoped to
 * the device, so a new token for the same device keeps them; "token" gives the older per-token scope.
 */
export function txnScopeOf(session: Session, scope: 'device' | 'token'): string {
  return scope === 'device' ? `device:${session.userId}|${session.deviceId}` : `token:${session.accessToken}`;
}
