import { type MatrixClient, MatrixError, Method } from 'matrix-js-sdk';
import { CodedError } from '../../shared/errors.ts';
import { matrixFailure } from './matrix-errors.ts';

const ALIAS_TTL_MS = 10 * 60 * 1000;

/**
 * What the pack knows of rooms: aliases resolved through the room directory (cached), the rooms it is in
 * (from /joined_rooms at start, then kept up to date by sync and by its own joins and leaves), and which
 * rooms are end-to-end encrypted, which it cannot read or write yet.
 */
export class Rooms {
  readonly #client: MatrixClient;
  readonly #aliases = new Map<string, { roomId: string; at: number }>();
  readonly #joined = new Set<string>();
  readonly #encrypted = new Map<string, boolean>();

  constructor(client: MatrixClient) {
    this.#client = client;
  }

  async loadJoined(): Promise<void> {
    const answer = await this.#client.getJoinedRooms().catch((error: unknown) => {
      throw matrixFailure(error, 'listing joined rooms');
    });
    for (const roomId of answer.joined_rooms) this.#joined.add(roomId);
  }

  joined(): string[] {
    return [...this.#joined].sort();
  }

  isJoined(roomId: string): boolean {
    return this.#joined.has(roomId);
  }

  markJoined(roomId: string): void {
    this.#joined.add(roomId);
  }

  markLeft(roomId: string): void {
    this.#joined.delete(roomId);
  }

  markEncrypted(roomId: string): void {
    this.#encrypted.set(roomId, true);
  }

  /** A room id (`!id:server`) as is, an alias (`#room:server`) through the directory. */
  async resolve(reference: string): Promise<string> {
    const trimmed = reference.trim();
    if (trimmed.startsWith('!')) return trimmed;
    if (!trimmed.startsWith('#') || !trimmed.includes(':')) {
      throw new CodedError(
        'invalid_input',
        `"${reference}" is neither a room id (!id:server) nor a room alias (#room:server)`,
      );
    }
    const cached = this.#aliases.get(trimmed);
    if (cached && Date.now() - cached.at < ALIAS_TTL_MS) return cached.roomId;
    try {
      const { room_id: roomId } = await this.#client.getRoomIdForAlias(trimmed);
      this.#aliases.set(trimmed, { roomId, at: Date.now() });
      return roomId;
    } catch (error) {
      if (error instanceof MatrixError && error.httpStatus === 404)
        throw new CodedError('channel_not_found', `no room has the alias ${trimmed}`, { cause: error });
      throw matrixFailure(error, `resolving ${trimmed}`);
    }
  }

  /** Whether the room is end-to-end encrypted: from sync, or asked of its state once. */
  async isEncrypted(roomId: string): Promise<boolean> {
    const known = this.#encrypted.get(roomId);
    if (known !== undefined) return known;
    try {
      await this.#client.http.authedRequest(
        Method.Get,
        `/rooms/${encodeURIComponent(roomId)}/state/m.room.encryption/`,
      );
      this.#encrypted.set(roomId, true);
      return true;
    } catch (error) {
      if (error instanceof MatrixError && error.httpStatus === 404) {
        this.#encrypted.set(roomId, false);
        return false;
      }
      // Not allowed to look (not in the room): the send will say so with its own error.
      if (error instanceof MatrixError && error.httpStatus === 403) return false;
      throw matrixFailure(error, `checking whether ${roomId} is encrypted`);
    }
  }
}
