import { type IRequestOpts, type MatrixClient, MatrixError, Method } from 'matrix-js-sdk';
import { deterministicId } from '../../shared/deterministic-id.ts';
import { CodedError } from '../../shared/errors.ts';
import { postToEvery } from '../../shared/runtime/broadcast.ts';
import type { ChannelPacer } from '../../shared/runtime/channel-pacer.ts';
import type { CommandContext, CommandDefinition, Payload } from '../../shared/runtime/pack-definition.ts';
import { retryInPlace } from '../../shared/runtime/retry-in-place.ts';
import {
  broadcastCommand,
  joinChannelCommand,
  leaveChannelCommand,
  sendMessageCommand,
  sendRichMessageCommand,
} from '../chat-commands.ts';
import { matrixFailure } from './matrix-errors.ts';
import { renderRichMessage } from './rich-message.ts';
import type { Rooms } from './rooms.ts';

export interface MatrixCommandDeps {
  client: MatrixClient;
  rooms: Rooms;
  pacer: ChannelPacer;
  msgtype: 'm.text' | 'm.notice';
}

const roomReference = {
  type: 'string',
  minLength: 1,
  description: 'A room id (!id:server) or alias (#room:server).',
};

/**
 * Sends through the room's lane, so that messages to one room keep their order. The transaction id is
 * derived from the command id (and the room, for a Broadcast): a retried or redelivered command sends
 * the same transaction, and the homeserver answers with the event it already made instead of a second
 * one. M_LIMIT_EXCEEDED is waited out in place, holding the lane (shared/runtime/retry-in-place.ts).
 */
async function send(
  deps: MatrixCommandDeps,
  roomId: string,
  content: Record<string, unknown>,
  context: CommandContext,
): Promise<string> {
  const txnId = `sb-${deterministicId(context.command.id, roomId)}`;
  const path = `/rooms/${encodeURIComponent(roomId)}/send/m.room.message/${encodeURIComponent(txnId)}`;
  return deps.pacer.schedule(
    roomId,
    async () => {
      if (await deps.rooms.isEncrypted(roomId)) {
        throw new CodedError(
          'encrypted_room_unsupported',
          `${roomId} is end-to-end encrypted, and the Matrix pack cannot encrypt messages yet; use an unencrypted room`,
        );
      }
      return retryInPlace(
        async () => {
          try {
            const answer = await deps.client.http.authedRequest<{ event_id: string }>(
              Method.Put,
              path,
              undefined,
              content,
              { abortSignal: context.signal } as IRequestOpts,
            );
            return answer.event_id;
          } catch (error) {
            if (
              error instanceof MatrixError &&
              error.errcode === 'M_FORBIDDEN' &&
              !deps.rooms.isJoined(roomId)
            ) {
              throw new CodedError(
                'not_in_channel',
                `the bot is not in ${roomId}: invite it, or send JoinChannel first (it never joins on its own)`,
                { cause: error },
              );
            }
            throw error;
          }
        },
        { classify: (error) => matrixFailure(error, `sending to ${roomId}`), command: context },
      );
    },
    context,
  );
}

function threadRelation(threadRoot: string | undefined): Record<string, unknown> {
  if (!threadRoot) return {};
  // is_falling_back and the reply let clients without thread support show it as a reply.
  return {
    'm.relates_to': {
      rel_type: 'm.thread',
      event_id: threadRoot,
      is_falling_back: true,
      'm.in_reply_to': { event_id: threadRoot },
    },
  };
}

/** The commands of the Slack pack, on Matrix: same names, same fields, Matrix ids inside. */
export function matrixCommands(deps: MatrixCommandDeps): Record<string, CommandDefinition<Payload>> {
  return {
    SendMessage: sendMessageCommand({
      description: 'Sends a text message to a room, or in a thread (threadTimestamp: the root event id).',
      channel: roomReference,
      thread: 'Event id of the thread root.',
      handler: async (input, context) => {
        const roomId = await deps.rooms.resolve(input.channelId);
        const eventId = await send(
          deps,
          roomId,
          {
            msgtype: deps.msgtype,
            body: input.message,
            ...threadRelation(input.threadTimestamp || undefined),
          },
          context,
        );
        return {
          message: input.message,
          channelId: roomId,
          threadTimestamp: input.threadTimestamp ?? '',
          timestamp: eventId,
          eventId,
        };
      },
    }),

    SendRichMessage: sendRichMessageCommand({
      description: 'Sends HTML (or Slack-style attachments rendered to HTML) with a plain-text body.',
      channel: roomReference,
      properties: { text: { type: 'string' }, html: { type: 'string' }, attachments: { type: 'array' } },
      handler: async (input, context) => {
        const roomId = await deps.rooms.resolve(input.channel);
        let rendered: Record<string, unknown>;
        try {
          rendered = {
            ...renderRichMessage(input as { text?: string; html?: string; attachments?: unknown[] }),
          };
        } catch (error) {
          throw new CodedError('no_text', (error as Error).message);
        }
        const eventId = await send(
          deps,
          roomId,
          { msgtype: deps.msgtype, ...rendered, ...threadRelation(input.thread_ts || undefined) },
          context,
        );
        return { ...input, timestamp: eventId, eventId };
      },
    }),

    Broadcast: broadcastCommand({
      description: 'Sends the message to every room the bot is in.',
      handler: async (input, context) => {
        const channelIds = await postToEvery(deps.rooms.joined(), (channelId) =>
          send(deps, channelId, { msgtype: deps.msgtype, body: input.message }, context),
        );
        return { message: input.message, channelIds };
      },
    }),

    JoinChannel: joinChannelCommand({
      description: 'Joins a room by id or alias; its messages then arrive as ReceivedMessage.',
      channel: roomReference,
      handler: async (input, context) => {
        const reference = input.channelId.trim();
        try {
          const answer = await deps.client.http.authedRequest<{ room_id: string }>(
            Method.Post,
            `/join/${encodeURIComponent(reference)}`,
            undefined,
            {},
            { abortSignal: context.signal } as IRequestOpts,
          );
          deps.rooms.markJoined(answer.room_id);
          return { channelId: answer.room_id };
        } catch (error) {
          if (error instanceof MatrixError && error.httpStatus === 404)
            throw new CodedError('channel_not_found', `no room ${reference} is known to the homeserver`, {
              cause: error,
            });
          throw matrixFailure(error, `joining ${reference}`);
        }
      },
    }),

    LeaveChannel: leaveChannelCommand({
      description: 'Leaves a room. Leaving a room the bot is not in succeeds.',
      channel: roomReference,
      handler: async (input, context) => {
        const roomId = await deps.rooms.resolve(input.channelId);
        try {
          await deps.client.http.authedRequest(
            Method.Post,
            `/rooms/${encodeURIComponent(roomId)}/leave`,
            undefined,
            {},
            { abortSignal: context.signal } as IRequestOpts,
          );
        } catch (error) {
          // 403: not in the room (never joined, or removed), which is where LeaveChannel wants the bot.
          if (!(error instanceof MatrixError && error.httpStatus === 403)) {
            if (error instanceof MatrixError && error.httpStatus === 404)
              throw new CodedError('channel_not_found', `no room ${roomId} is known to the homeserver`, {
                cause: error,
              });
            throw matrixFailure(error, `leaving ${roomId}`);
          }
        }
        deps.rooms.markLeft(roomId);
        return { channelId: roomId };
      },
    }),
  };
}
