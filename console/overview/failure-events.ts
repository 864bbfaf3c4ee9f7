import type { Envelope } from '../../shared/envelope.ts';

/**
 * A failure as docs/protocol.md describes them: a command's failure event carries `errorCode` (success
 * events never do), and failure events are named `...Failed` (CommandFailed for an unknown command).
 */
export function isFailureEvent(envelope: Envelope): boolean {
  if (envelope.kind !== 'event') return false;
  return envelope.name.endsWith('Failed') || typeof payloadField(envelope, 'errorCode') === 'string';
}

export function payloadField(envelope: Envelope, field: string): unknown {
  const payload = envelope.payload;
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return undefined;
  return (payload as Record<string, unknown>)[field];
}
