// Users, teams and the health check (api4/user.go, api4/team.go, api4/system.go), as Client4 calls them:
// getMe, getUser, getUserByUsername, getProfilesByIds, getMyTeams, getTeamByName, getMyChannels, ping.

import type { Endpoint } from './api.ts';
import { isValidId } from './ids.ts';
import { AppError, errors, ok, parseJson } from './reply.ts';
import { channelJson, teamJson, userJson } from './wire.ts';

const V4 = '^/api/v4';

export const ACCOUNT_ENDPOINTS: readonly Endpoint[] = [
  {
    name: 'ping',
    method: 'GET',
    path: new RegExp(`${V4}/system/ping/?$`),
    auth: 'none',
    handle: () => ok({ status: 'OK', ActiveSearchBackend: 'database' }),
  },
  {
    name: 'getMe',
    method: 'GET',
    path: new RegExp(`${V4}/users/me$`),
    auth: 'required',
    handle: ({ services, userId }) => {
      const user = services.state.user(userId);
      if (!user) throw errors.missingUser();
      return ok(userJson(user));
    },
  },
  {
    name: 'getProfilesByIds',
    method: 'POST',
    path: new RegExp(`${V4}/users/ids$`),
    auth: 'required',
    handle: ({ services, text }) => {
      const ids = parseJson(text, 'user_ids');
      if (!Array.isArray(ids) || ids.length === 0 || !ids.every((id) => typeof id === 'string'))
        throw errors.invalidParam('user_ids');
      // Unknown ids are left out, not refused.
      return ok(ids.flatMap((id) => services.state.user(id) ?? []).map(userJson));
    },
  },
  {
    name: 'getUserByUsername',
    method: 'GET',
    path: new RegExp(`${V4}/users/username/([^/]+)$`),
    auth: 'required',
    handle: ({ services, params: [username = ''] }) => {
      const user = services.state.userByName(username);
      if (!user) throw errors.missingUser();
      return ok(userJson(user));
    },
  },
  {
    name: 'getMyTeams',
    method: 'GET',
    path: new RegExp(`${V4}/users/([^/]+)/teams$`),
    auth: 'required',
    handle: ({ services, userId, params: [who = ''] }) => {
      if (who !== 'me' && who !== userId) throw errors.permissions();
      return ok(services.state.teams().map(teamJson));
    },
  },
  {
    name: 'getMyChannels',
    method: 'GET',
    path: new RegExp(`${V4}/users/([^/]+)/teams/([^/]+)/channels$`),
    auth: 'required',
    handle: ({ services, userId, params: [who = '', teamId = ''] }) => {
      if (who !== 'me' && who !== userId) throw errors.permissions();
      if (!isValidId(teamId)) throw errors.invalidUrlParam('team_id');
      if (!services.state.team(teamId)) throw errors.permissions();
      return ok(
        services.state.channelsOf(userId, teamId).map((channel) => channelJson(channel, services.state)),
      );
    },
  },
  {
    name: 'getUser',
    method: 'GET',
    path: new RegExp(`${V4}/users/([^/]+)$`),
    auth: 'required',
    handle: ({ services, params: [id = ''] }) => {
      if (!isValidId(id)) throw errors.invalidUrlParam('user_id');
      const user = services.state.user(id);
      if (!user) throw errors.missingUser();
      return ok(userJson(user));
    },
  },
  {
    name: 'getTeamByName',
    method: 'GET',
    path: new RegExp(`${V4}/teams/name/([^/]+)$`),
    auth: 'required',
    handle: ({ services, params: [name = ''] }) => {
      const team = services.state.teamByName(name);
      if (!team) throw missingTeam();
      return ok(teamJson(team));
    },
  },
];

export function missingTeam(): AppError {
  return new AppError(404, 'app.team.get_by_name.missing.app_error', 'Unable to find the existing team.');
}
