import { createHash } from 'node:crypto';

/**
 * A UUID-shaped id derived from its parts. The engine names instances and commands this way, so that an
 * event handled twice (redelivered after a crash) produces the same ids, and packs answer the second
 * command from their record instead of running it again. Packs name events they may observe twice
 * (Slack sending an event again) the same way, so that consumers see one event; and the runtime names
 * each command's result event after the command, so that a second answer (from another instance, after a
 * redelivery) is the same event too.
 */
export function deterministicId(...parts: string[]): string {
  const hex = createHash('sha256').update(parts.join('\u0000')).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
