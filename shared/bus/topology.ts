import type { Labels } from '../envelope.ts';

/** Names on the broker; docs/protocol.md is the contract for outside publishers. */
export const COMMANDS_EXCHANGE = 'switchboard.commands';
export const EVENTS_EXCHANGE = 'switchboard.events';
export const DEAD_LETTER_QUEUE = 'switchboard.dead';
/**
 * AMQP header naming who sent a command (`console`, or an API token's name), so that a consumer can tell
 * it from the engine's and the CLI's. Not a label: on a command, labels choose which instances may run it
 * (docs/protocol.md).
 */
export const SENT_BY_HEADER = 'x-switchboard-sent-by';
/** Header on a dead-lettered message saying why it was refused. */
export const DEAD_LETTER_REASON_HEADER = 'x-switchboard-reason';
/** Headers on a dead-lettered message saying where it was going, so that it can be sent there again. */
export const DEAD_LETTER_EXCHANGE_HEADER = 'x-switchboard-original-exchange';
export const DEAD_LETTER_ROUTING_KEY_HEADER = 'x-switchboard-original-routing-key';
/** Header on a dead-lettered message: when it was set aside (ISO 8601). */
export const DEAD_LETTERED_AT_HEADER = 'x-switchboard-dead-lettered-at';
/** Header on a message sent back from the dead-letter queue: when (ISO 8601). */
export const REQUEUED_AT_HEADER = 'x-switchboard-requeued-at';

export type ExchangeName = typeof COMMANDS_EXCHANGE | typeof EVENTS_EXCHANGE;

export function routingKey(pack: string, name: string): string {
  return `${pack}.${name}`;
}

export function packQueueName(pack: string): string {
  return `switchboard.pack.${pack}`;
}

/**
 * The queue holding commands that ask for exactly this label set. Commands with labels are moved here
 * from the pack queue, so that only instances whose labels include them compete for them.
 */
export function labelledQueueName(pack: string, labels: Labels): string {
  return `${packQueueName(pack)}[${canonicalLabels(labels)}]`;
}

export function canonicalLabels(labels: Labels): string {
  return Object.keys(labels)
    .sort()
    .map((key) => `${key}=${labels[key]}`)
    .join(',');
}

/** Topic matching as RabbitMQ does it: `*` is one word, `#` zero or more. */
export function topicMatches(pattern: string, key: string): boolean {
  return matchWords(pattern.split('.'), 0, key.split('.'), 0);
}

function matchWords(pattern: string[], p: number, key: string[], k: number): boolean {
  if (p === pattern.length) return k === key.length;
  const word = pattern[p];
  if (word === '#') {
    for (let skip = k; skip <= key.length; skip++) {
      if (matchWords(pattern, p + 1, key, skip)) return true;
    }
    return false;
  }
  if (k === key.length) return false;
  return (word === '*' || word === key[k]) && matchWords(pattern, p + 1, key, k + 1);
}
