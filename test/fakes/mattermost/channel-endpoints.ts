// Channels and memberships (api4/channel.go): getChannel, getChannelByName, getChannelByNameAndTeamName,
// getChannelMember, addToChannel, removeFromChannel. Permissions are the default roles': any team member
// reads public channels and may join them; only channel members read private ones or add and remove others.
// Removing someone who is not a member is 404 app.channel.get_member.missing.app_error, as on the server
// (removeUserFromChannel looks the membership up first): a pack treating "leave" as idempotent must
// accept that 404.

import { missingTeam } from './account-endpoints.ts';
import type { Context, Endpoint } from './api.ts';
import { isValidId } from './ids.ts';
import { AppError, errors, ok, parseJson, statusOk } from './reply.ts';
import type { Channel } from './state.ts';
import { channelJson, memberJson } from './wire.ts';

const V4 = '^/api/v4';
/** The channel nobody may leave (model.DefaultChannelName). */
const DEFAULT_CHANNEL = 'town-square';

export const CHANNEL_ENDPOINTS: readonly Endpoint[] = [
  {
    name: 'getChannelByNameAndTeamName',
    method: 'GET',
    path: new RegExp(`${V4}/teams/name/([^/]+)/channels/name/([^/]+)$`),
    auth: 'required',
    handle: ({ services, userId, params: [teamName = '', channelName = ''] }) => {
      const team = services.state.teamByName(teamName);
      if (!team) throw missingTeam();
      return ok(channelJson(visibleByName(services, userId, team.id, channelName), services.state));
    },
  },
  {
    name: 'getChannelByName',
    method: 'GET',
    path: new RegExp(`${V4}/teams/([^/]+)/channels/name/([^/]+)$`),
    auth: 'required',
    handle: ({ services, userId, params: [teamId = '', channelName = ''] }) => {
      if (!isValidId(teamId)) throw errors.invalidUrlParam('team_id');
      if (!services.state.team(teamId)) throw errors.permissions();
      return ok(channelJson(visibleByName(services, userId, teamId, channelName), services.state));
    },
  },
  {
    name: 'getChannel',
    method: 'GET',
    path: new RegExp(`${V4}/channels/([^/]+)$`),
    auth: 'required',
    handle: ({ services, userId, params: [channelId = ''] }) => {
      const channel = existingChannel(services, channelId);
      if (!services.state.canRead(channel, userId)) throw errors.permissions();
      return ok(channelJson(channel, services.state));
    },
  },
  {
    name: 'getChannelMember',
    method: 'GET',
    path: new RegExp(`${V4}/channels/([^/]+)/members/([^/]+)$`),
    auth: 'required',
    handle: ({ services, userId, params: [channelId = '', who = ''] }) => {
      if (!isValidId(channelId)) throw errors.invalidUrlParam('channel_id');
      const memberId = who === 'me' ? userId : who;
      if (!isValidId(memberId)) throw errors.invalidUrlParam('user_id');
      const channel = services.state.channel(channelId);
      if (!channel || !services.state.canRead(channel, userId)) throw errors.permissions();
      if (!services.state.isMember(channelId, memberId)) throw errors.missingMember();
      return ok(memberJson(channelId, memberId, services.state));
    },
  },
  {
    name: 'addToChannel',
    method: 'POST',
    path: new RegExp(`${V4}/channels/([^/]+)/members$`),
    auth: 'required',
    handle: (context) => {
      const { services, params } = context;
      const channel = existingChannel(services, params[0] ?? '');
      const body = parseJson(context.text, 'channel_member') as
        | { user_id?: unknown; user_ids?: unknown }
        | undefined;
      // addToChannel sends {user_id}, addToChannels {user_ids}; the answer is one member or a list.
      if (Array.isArray(body?.user_ids)) {
        const ids = body.user_ids.map(String);
        if (ids.length === 0) throw errors.invalidParam('user_ids');
        return ok(
          ids.map((id) => addMember(context, channel, id)),
          201,
        );
      }
      if (typeof body?.user_id !== 'string') throw errors.invalidParam('user_id');
      return ok(addMember(context, channel, body.user_id), 201);
    },
  },
  {
    name: 'removeFromChannel',
    method: 'DELETE',
    path: new RegExp(`${V4}/channels/([^/]+)/members/([^/]+)$`),
    auth: 'required',
    handle: ({ services, userId, params: [channelId = '', who = ''] }) => {
      const channel = existingChannel(services, channelId);
      if (!isValidId(who)) throw errors.invalidUrlParam('user_id');
      if (!services.state.user(who)) throw errors.missingUser();
      if (channel.type === 'D')
        throw new AppError(
          400,
          'api.channel.remove_channel_member.type.app_error',
          'Unable to remove user from a channel.',
        );
      // Removing someone else takes manage_*_channel_members, which only channel members hold by default.
      if (who !== userId && !services.state.isMember(channel.id, userId)) throw errors.permissions();
      if (channel.name === DEFAULT_CHANNEL)
        throw new AppError(
          400,
          'api.channel.remove.default.app_error',
          `Unable to remove user from the default channel ${DEFAULT_CHANNEL}.`,
        );
      if (!services.publisher.removeMember(channel, who, userId, services.systemMessages))
        throw errors.missingMember();
      return statusOk();
    },
  },
];

function existingChannel(services: Context['services'], channelId: string): Channel {
  if (!isValidId(channelId)) throw errors.invalidUrlParam('channel_id');
  const channel = services.state.channel(channelId);
  if (!channel) throw errors.missingChannel();
  return channel;
}

/** A channel found by name, or 404 when it is missing or private to the caller (the server hides it). */
function visibleByName(services: Context['services'], userId: string, teamId: string, name: string): Channel {
  const channel = services.state.channelByName(teamId, name);
  if (!channel || !services.state.canRead(channel, userId))
    throw new AppError(
      404,
      'app.channel.get_by_name.missing.app_error',
      'Unable to find the existing channel.',
    );
  return channel;
}

/** api4 addChannelMember + app.AddChannelMember; an existing member is answered as if just added. */
function addMember(
  { services, userId }: Context,
  channel: Channel,
  memberId: string,
): Record<string, unknown> {
  if (!isValidId(memberId)) throw errors.invalidParam('user_id');
  if (channel.type === 'D')
    throw new AppError(
      400,
      'api.channel.add_user_to_channel.type.app_error',
      'Can not add user to this channel type.',
    );
  const joiningPublic = memberId === userId && channel.type === 'O';
  if (!joiningPublic && !services.state.isMember(channel.id, userId)) throw errors.permissions();
  if (!services.state.user(memberId)) throw errors.missingUser();
  services.publisher.addMember(channel, memberId, userId, services.systemMessages);
  return memberJson(channel.id, memberId, services.state);
}
