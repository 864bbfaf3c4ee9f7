// How stored events look on the wire: the client event format
// (https://spec.matrix.org/v1.13/client-server-api/#room-event-format) and the stripped state of invites.

import { randomBytes } from 'node:crypto';
import type { StoredEvent } from './state.ts';

/**
 * The client event format. `viewerScope` is the transaction scope of whoever receives it: only the sender's
 * own session sees `unsigned.transaction_id`, which is how a client recognises the echo of its own send.
 * /sync leaves `room_id` out (the room is the key above it); /messages and /event include it.
 */
export function clientEvent(
  event: StoredEvent,
  options: { readonly viewerScope: string | undefined; readonly now: number; readonly withRoomId: boolean },
): Record<string, unknown> {
  const unsigned: Record<string, unknown> = { age: Math.max(0, options.now - event.originServerTs) };
  if (event.txn && event.txn.scope === options.viewerScope) unsigned.transaction_id = event.txn.txnId;
  return {
    type: event.type,
    content: event.content,
    sender: event.sender,
    event_id: event.eventId,
    origin_server_ts: event.originServerTs,
    ...(event.stateKey !== undefined ? { state_key: event.stateKey } : {}),
    ...(options.withRoomId ? { room_id: event.roomId } : {}),
    unsigned,
  };
}

/** Stripped state (https://spec.matrix.org/v1.13/client-server-api/#stripped-state), as in invite_state. */
export function strippedEvent(event: StoredEvent): Record<string, unknown> {
  return { type: event.type, state_key: event.stateKey ?? '', sender: event.sender, content: event.content };
}

/** State event types an invitee sees before joining, after Synapse's room_prejoin_state defaults. */
export const INVITE_STATE_TYPES: ReadonlySet<string> = new Set([
  'm.room.create',
  'm.room.join_rules',
  'm.room.canonical_alias',
  'm.room.avatar',
  'm.room.encryption',
  'm.room.name',
  'm.room.topic',
]);

/** Content of an m.room.message; `threadRootId` makes it a thread reply with the spec's reply fallback. */
export function messageContent(message: {
  readonly body: string;
  readonly msgtype?: string;
  readonly format?: string;
  readonly formatted_body?: string;
  readonly threadRootId?: string;
}): Record<string, unknown> {
  return {
    msgtype: message.msgtype ?? 'm.text',
    body: message.body,
    ...(message.format !== undefined ? { format: message.format } : {}),
    ...(message.formatted_body !== undefined ? { formatted_body: message.formatted_body } : {}),
    ...(message.threadRootId !== undefined
      ? {
          'm.relates_to': {
            rel_type: 'm.thread',
            event_id: message.threadRootId,
            is_falling_back: true,
            'm.in_reply_to': { event_id: message.threadRootId },
          },
        }
      : {}),
  };
}

/**
 * What an end-to-end encrypted message looks like to a server: opaque megolm ciphertext. The fake cannot
 * encrypt, so nothing can decrypt it either; that is enough for a client to tell it cannot read the room.
 */
export function encryptedContent(deviceId: string): Record<string, unknown> {
  const opaque = (bytes: number) => randomBytes(bytes).toString('base64').replace(/=+$/, '');
  return {
    algorithm: 'm.megolm.v1.aes-sha2',
    ciphertext: opaque(96),
    device_id: deviceId,
    sender_key: opaque(32),
    session_id: opaque(32),
  };
}
