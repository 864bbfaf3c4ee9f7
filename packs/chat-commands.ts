import type { CodedError } from '../shared/errors.ts';
import {
  type CommandContext,
  type CommandDefinition,
  defineCommand,
  type JsonSchema,
  type Payload,
} from '../shared/runtime/pack-definition.ts';

/**
 * The commands every chat pack takes, with the same names, fields and result events as flyte-slack's,
 * so a flow moves from one chat system to another by changing its pack name. Each pack supplies what a
 * channel reference is on its system, the descriptions, and the handlers.
 */
export interface ChatCommandOptions<Input extends Payload> {
  description: string;
  handler: (input: Input, context: CommandContext) => Promise<Payload>;
}

export type SendMessageInput = { message: string; channelId: string; threadTimestamp?: string };
export type RichMessageInput = Payload & { channel: string; thread_ts?: string };

const asDefinition = <Input extends Payload>(definition: CommandDefinition<Input>) =>
  definition as unknown as CommandDefinition<Payload>;

export function sendMessageCommand(
  options: ChatCommandOptions<SendMessageInput> & { channel: JsonSchema; thread: string },
): CommandDefinition<Payload> {
  return asDefinition(
    defineCommand<SendMessageInput>({
      description: options.description,
      inputSchema: {
        type: 'object',
        required: ['message', 'channelId'],
        properties: {
          message: { type: 'string', minLength: 1 },
          channelId: options.channel,
          threadTimestamp: { type: 'string', description: options.thread },
        },
      },
      success: 'MessageSent',
      failure: 'SendMessageFailed',
      handler: options.handler,
    }),
  );
}

/** `properties` are the rich message's fields besides `channel` and `thread_ts` (text, blocks, html...). */
export function sendRichMessageCommand(
  options: ChatCommandOptions<RichMessageInput> & {
    channel: JsonSchema;
    properties: Record<string, JsonSchema>;
  },
): CommandDefinition<Payload> {
  return asDefinition(
    defineCommand<RichMessageInput>({
      description: options.description,
      inputSchema: {
        type: 'object',
        required: ['channel'],
        properties: { channel: options.channel, thread_ts: { type: 'string' }, ...options.properties },
      },
      success: 'RichMessageSent',
      failure: 'SendRichMessageFailed',
      handler: options.handler,
      // flyte-slack's shape: the whole input, not its fields spread.
      failurePayload: (input: unknown, error: CodedError) => ({
        inputMessage: input,
        error: error.message,
        errorCode: error.code,
      }),
    }),
  );
}

export function broadcastCommand(
  options: ChatCommandOptions<{ message: string }>,
): CommandDefinition<Payload> {
  return asDefinition(
    defineCommand<{ message: string }>({
      description: options.description,
      inputSchema: {
        type: 'object',
        required: ['message'],
        properties: { message: { type: 'string', minLength: 1 } },
      },
      success: 'BroadcastSent',
      failure: 'BroadcastFailed',
      handler: options.handler,
    }),
  );
}

function channelCommand(
  names: { success: string; failure: string },
  options: ChatCommandOptions<{ channelId: string }> & { channel: JsonSchema },
): CommandDefinition<Payload> {
  return asDefinition(
    defineCommand<{ channelId: string }>({
      description: options.description,
      inputSchema: { type: 'object', required: ['channelId'], properties: { channelId: options.channel } },
      ...names,
      handler: options.handler,
    }),
  );
}

export const joinChannelCommand = (
  options: ChatCommandOptions<{ channelId: string }> & { channel: JsonSchema },
) => channelCommand({ success: 'ChannelJoined', failure: 'JoinChannelFailed' }, options);

export const leaveChannelCommand = (
  options: ChatCommandOptions<{ channelId: string }> & { channel: JsonSchema },
) => channelCommand({ success: 'ChannelLeft', failure: 'LeaveChannelFailed' }, options);
