/**
 * The benchmark's `slack` pack, run as its own process through the real `switchboard pack` command:
 *   CHAT_API_URL=http://127.0.0.1:PORT node test/bench/chat-pack-process.ts slack
 * SendMessage POSTs to the fake chat API (fake-chat-api.ts) and answers MessageSent. Only the catalog is
 * the benchmark's: config, bus, runtime and shutdown are the ones `switchboard pack` uses.
 */
import { runCommand } from '../../cli/cli-support.ts';
import { packCommand } from '../../cli/commands/pack.ts';
import { transientError } from '../../shared/errors.ts';
import { defineCommand, definePack } from '../../shared/runtime/pack-definition.ts';
import { chatApiAgent, postChatMessage } from './fake-chat-api.ts';

const chatApiUrl = process.env.CHAT_API_URL;
if (!chatApiUrl) throw new Error('CHAT_API_URL is not set');
const agent = chatApiAgent();

const slack = definePack({
  name: 'slack',
  version: '0.0.0-bench',
  description: 'posts to a fake chat API',
  commands: {
    SendMessage: defineCommand<{ channelId: string; message: string }>({
      description: 'posts a message to a channel',
      inputSchema: {
        type: 'object',
        required: ['channelId', 'message'],
        properties: { channelId: { type: 'string', minLength: 1 }, message: { type: 'string' } },
      },
      success: 'MessageSent',
      failure: 'SendMessageFailed',
      handler: async (input, { signal }) => {
        try {
          const answer = await postChatMessage(
            chatApiUrl,
            agent,
            { channel: input.channelId, text: input.message },
            signal,
          );
          return { channelId: input.channelId, ts: answer.ts };
        } catch (error) {
          throw transientError((error as Error).message, { cause: error });
        }
      },
    }),
  },
  stop: async () => agent.destroy(),
});

process.exitCode = await runCommand(
  packCommand([
    {
      name: 'slack',
      summary: 'benchmark pack',
      variables: [],
      toRun: undefined,
      isConfigured: () => true,
      load: async () => slack,
    },
  ]),
  process.argv.slice(2),
  { env: process.env, stdout: process.stdout, stderr: process.stderr, stdin: process.stdin },
);
