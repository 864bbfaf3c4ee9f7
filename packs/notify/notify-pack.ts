import { deterministicId } from '../../shared/deterministic-id.ts';
import type { Envelope } from '../../shared/envelope.ts';
import { CodedError } from '../../shared/errors.ts';
import {
  type CommandContext,
  type CommandDefinition,
  defineCommand,
  definePack,
  type PackContext,
  type PackDefinition,
  type Payload,
} from '../../shared/runtime/pack-definition.ts';
import { AudiencesFile, findAudiencesFile } from './audiences-file.ts';
import type { NotifyConfig } from './notify-config.ts';

export const NOTIFY_PACK_VERSION = '0.1.0';

type NotifyInput = Payload & {
  to: string | string[];
  message: string;
  rich?: { text?: string; attachments?: unknown[] } & Record<string, unknown>;
  threadKey?: string;
};

interface Delivery {
  pack: string;
  channelId: string;
  status: 'sent' | 'failed';
  error?: string;
  errorCode?: string;
  timestamp?: string;
}

/** Thread roots remembered per threadKey and target: the first message of a thread, for the replies. */
const THREADS_KEPT = 10_000;

/**
 * The notify pack: a message addressed to a group reaches every pack and channel the audiences file maps
 * it to. One command per distinct target, each with an id derived from the Notify and the target, so a
 * retried Notify is answered by the packs from their records for the deliveries that already went out.
 */
export async function createNotifyPack(config: NotifyConfig): Promise<PackDefinition> {
  let audiences: AudiencesFile | undefined;
  let context: PackContext | undefined;
  const threads = new Map<string, string>();

  async function deliver(
    target: { pack: string; channel: string },
    input: NotifyInput,
    command: CommandContext,
  ): Promise<Delivery> {
    const threadKey = input.threadKey
      ? `${input.threadKey}\u0000${target.pack}\u0000${target.channel}`
      : undefined;
    const threadRoot = threadKey ? threads.get(threadKey) : undefined;
    const request = input.rich
      ? {
          name: 'SendRichMessage',
          payload: {
            ...input.rich,
            channel: target.channel,
            text: input.rich.text ?? input.message,
            ...(threadRoot ? { thread_ts: threadRoot } : {}),
          },
        }
      : {
          name: 'SendMessage',
          payload: {
            channelId: target.channel,
            message: input.message,
            ...(threadRoot ? { threadTimestamp: threadRoot } : {}),
          },
        };
    const result: Envelope | undefined = await (context as PackContext).request(
      {
        pack: target.pack,
        ...request,
        payload: request.payload as Payload,
        id: deterministicId('notify', command.command.id, target.pack, target.channel),
        correlationId: command.command.correlationId ?? command.command.id,
      },
      { timeoutMs: config.deliveryTimeoutMs },
    );
    if (!result) {
      return {
        pack: target.pack,
        channelId: target.channel,
        status: 'failed',
        errorCode: 'timeout',
        error: `no result from the ${target.pack} pack within ${config.deliveryTimeoutMs / 1000} s (is it running?)`,
      };
    }
    const payload = (result.payload ?? {}) as {
      errorCode?: string;
      error?: string;
      timestamp?: string;
      channelId?: string;
    };
    if (typeof payload.errorCode === 'string') {
      return {
        pack: target.pack,
        channelId: target.channel,
        status: 'failed',
        errorCode: payload.errorCode,
        error: payload.error ?? result.name,
      };
    }
    if (threadKey && !threadRoot && payload.timestamp) {
      threads.set(threadKey, payload.timestamp);
      if (threads.size > THREADS_KEPT) threads.delete(threads.keys().next().value as string);
    }
    return {
      pack: target.pack,
      channelId: target.channel,
      status: 'sent',
      ...(payload.timestamp ? { timestamp: payload.timestamp } : {}),
    };
  }

  return definePack({
    name: 'notify',
    version: NOTIFY_PACK_VERSION,
    description:
      'Notify: one message to a named group reaches every pack and channel the audiences file maps it to.',
    commands: {
      Notify: defineCommand<NotifyInput>({
        description:
          'Sends the message (or the Slack-style rich message) to every target of the groups in `to`, once per distinct target.',
        inputSchema: {
          type: 'object',
          required: ['to', 'message'],
          properties: {
            to: {
              oneOf: [
                { type: 'string', minLength: 1 },
                { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
              ],
              description: 'A group (#admins) or a list of groups.',
            },
            message: { type: 'string', minLength: 1 },
            rich: {
              type: 'object',
              description: 'A Slack-style rich message: text, attachments (fields, colour, buttons).',
            },
            threadKey: {
              type: 'string',
              description: 'Notifications with the same key go in one thread per channel (kept in memory).',
            },
          },
        },
        success: 'NotificationSent',
        failure: 'NotificationFailed',
        handler: async (input, command) => {
          const { targets, unknown } = (audiences as AudiencesFile).current().resolve(input.to);
          if (unknown.length > 0) {
            throw new CodedError(
              'unknown_audience',
              `no audience ${unknown.join(', ')} in the audiences file (known: ${(audiences as AudiencesFile).current().groups().join(', ') || 'none'})`,
            );
          }
          const deliveries = await Promise.all(targets.map((target) => deliver(target, input, command)));
          if (deliveries.length > 0 && deliveries.every((delivery) => delivery.status === 'failed')) {
            throw new CodedError('delivery_failed', `every delivery failed: ${deliveries[0]?.error}`, {
              details: { deliveries },
            });
          }
          return { to: input.to, message: input.message, deliveries };
        },
      }) as CommandDefinition<Payload>,
    },
    async start(given) {
      context = given;
      const file = config.audiencesFile ?? findAudiencesFile(config.flowsDir);
      audiences = await AudiencesFile.open({
        file,
        onInfo: (message) => given.logger.info({ file }, message),
        onChange: (current) => given.logger.info({ file, groups: current.groups() }, 'audiences loaded'),
        onProblems: (problems) => {
          for (const problem of problems)
            given.logger.error(problem, 'the audiences file has a problem; the previous mapping stays');
        },
      });
    },
    async stop() {
      await audiences?.close();
    },
  });
}
