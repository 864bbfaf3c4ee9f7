import { type IRequestOpts, type MatrixClient, Method } from 'matrix-js-sdk';
import { ChannelPacer } from '../../shared/runtime/channel-pacer.ts';
import { definePack, type PackContext, type PackDefinition } from '../../shared/runtime/pack-definition.ts';
import { matrixCommands } from './commands.ts';
import type { MatrixConfig } from './matrix-config.ts';
import { matrixFailure } from './matrix-errors.ts';
import { openSession } from './matrix-session.ts';
import { Rooms } from './rooms.ts';
import { routeSdkLogging } from './sdk-logger.ts';
import { type RoomEvent, SyncLoop, type SyncObserver } from './sync-loop.ts';
import { SyncToken } from './sync-token.ts';
import { UserNames } from './user-names.ts';

export const MATRIX_PACK_VERSION = '0.1.0';

export const MATRIX_EVENTS = {
  ReceivedMessage: {
    description:
      'A live message in a joined room: {channelId, user{id,name}, message, timestamp (the event id), threadTimestamp (the thread root), eventId}.',
  },
  ReceiveMessageFailed: {
    description:
      'A message the pack could not read, in an end-to-end encrypted room: {channelId, user{id,name}, eventId, error, errorCode: encrypted_room_unsupported}.',
  },
  InviteReceived: {
    description:
      'The bot was invited into a room (when MATRIX_AUTO_JOIN does not accept it): {channelId, inviter}.',
  },
};

/**
 * The Matrix pack: the Slack pack's commands and events on matrix-js-sdk. It signs in at start; the
 * client and its sync loop live from start to stop.
 */
export async function createMatrixPack(config: MatrixConfig): Promise<PackDefinition> {
  let client: MatrixClient | undefined;
  let rooms: Rooms | undefined;
  let sync: SyncLoop | undefined;
  // Commands run only after start, so the client is there by then.
  const pacer = new ChannelPacer({ burst: 100, perSecond: 100 });
  const commands = matrixCommands({
    get client() {
      return client as MatrixClient;
    },
    get rooms() {
      return rooms as Rooms;
    },
    pacer,
    msgtype: config.msgtype,
  });

  return definePack({
    name: 'matrix',
    version: MATRIX_PACK_VERSION,
    description: 'Matrix: messages, rich (HTML) messages, broadcasts and rooms, on matrix-js-sdk.',
    commands,
    events: MATRIX_EVENTS,
    async start(context) {
      client = await openSession(config, context.logger, routeSdkLogging(context.logger));
      const userId = client.getUserId() as string;
      rooms = new Rooms(client);
      await rooms.loadJoined();
      sync = new SyncLoop({
        client,
        userId,
        rooms,
        token: await SyncToken.open(config.stateDir, userId),
        observer: observe(context, client, rooms, config),
        logger: context.logger,
        onFatal: (error) => context.fail(error),
      });
      await sync.start();
      context.logger.info({ userId, rooms: rooms.joined() }, 'connected to Matrix');
    },
    async stop() {
      await sync?.stop();
      client?.stopClient();
    },
  });
}

function observe(
  context: PackContext,
  client: MatrixClient,
  rooms: Rooms,
  config: MatrixConfig,
): SyncObserver {
  const names = new UserNames(client);
  const user = async (userId: string) => ({ id: userId, name: await names.lookup(userId) });
  return {
    async message(roomId, event) {
      const relation = event.content['m.relates_to'] as { rel_type?: string; event_id?: string } | undefined;
      await context.emit(
        'ReceivedMessage',
        {
          channelId: roomId,
          user: await user(event.sender),
          message: typeof event.content.body === 'string' ? event.content.body : '',
          timestamp: event.event_id,
          threadTimestamp: relation?.rel_type === 'm.thread' ? (relation.event_id ?? '') : '',
          eventId: event.event_id,
          sentAt: new Date(event.origin_server_ts).toISOString(),
        },
        { dedupeKey: event.event_id },
      );
    },
    async encrypted(roomId, event) {
      await context.emit(
        'ReceiveMessageFailed',
        {
          channelId: roomId,
          user: await user(event.sender),
          eventId: event.event_id,
          error: `${roomId} is end-to-end encrypted, and the Matrix pack cannot decrypt messages yet`,
          errorCode: 'encrypted_room_unsupported',
        },
        { dedupeKey: event.event_id },
      );
    },
    async invite(roomId, inviter, event: RoomEvent) {
      if (acceptsInvite(config, inviter)) {
        try {
          await client.http.authedRequest(
            Method.Post,
            `/join/${encodeURIComponent(roomId)}`,
            undefined,
            {},
            {} as IRequestOpts,
          );
          rooms.markJoined(roomId);
          context.logger.info({ roomId, inviter }, 'joined a room on invitation (MATRIX_AUTO_JOIN)');
          return;
        } catch (error) {
          context.logger.warn(
            { roomId, inviter, reason: matrixFailure(error, 'joining').message },
            'could not accept an invitation',
          );
        }
      }
      await context.emit(
        'InviteReceived',
        { channelId: roomId, inviter },
        { dedupeKey: `invite:${roomId}:${event.event_id ?? inviter}` },
      );
    },
  };
}

function acceptsInvite(config: MatrixConfig, inviter: string): boolean {
  if (!config.autoJoin) return false;
  if (config.autoJoin.servers === 'any') return true;
  const server = inviter.slice(inviter.indexOf(':') + 1).toLowerCase();
  return config.autoJoin.servers.includes(server);
}
