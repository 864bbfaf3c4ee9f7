/**
 * A stand-in for a chat service's "post a message" endpoint, for the benchmarks: answers every POST with
 * 200 `{"ok":true,"ts":"..."}` after reading the body, on 127.0.0.1 and a free port.
 *   node test/bench/fake-chat-api.ts     # runs it on its own and prints its URL
 */
import { Agent, createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeChatApi {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  /** Requests answered so far. */
  readonly requests: number;
  close(): Promise<void>;
}

export async function startFakeChatApi(): Promise<FakeChatApi> {
  let requests = 0;
  let sequence = 0;
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    request.resume();
    request.on('end', () => {
      requests++;
      const body = JSON.stringify({ ok: true, ts: `${Math.floor(Date.now() / 1000)}.${++sequence}` });
      response.writeHead(200, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
      });
      response.end(body);
    });
  });
  // Longer than any pause between benchmark runs, so a pooled socket is never closed under a request.
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 125_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get requests() {
      return requests;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The client side both benchmarked chains use: `http.request` over a keep-alive pool (docs: performance.md). */
export function chatApiAgent(): Agent {
  return new Agent({ keepAlive: true, maxSockets: 64 });
}

export interface PostedMessage {
  ok: boolean;
  ts: string;
}

/** POSTs a message; resolves with the answer, rejects on a network error or a status other than 200. */
export function postChatMessage(
  url: string,
  agent: Agent,
  message: { channel: string; text: string },
  signal?: AbortSignal,
): Promise<PostedMessage> {
  const body = JSON.stringify(message);
  return new Promise((resolve, reject) => {
    const outgoing = request(
      `${url}/api/chat.postMessage`,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        ...(signal ? { signal } : {}),
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () => {
          if (response.statusCode !== 200) {
            reject(new Error(`the chat API answered ${response.statusCode}`));
            return;
          }
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as PostedMessage);
          } catch (error) {
            reject(error);
          }
        });
      },
    );
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

if (import.meta.main) {
  const api = await startFakeChatApi();
  console.log(api.url);
  const stop = () => void api.close().then(() => process.exit(0));
  process.once('SIGTERM', stop).once('SIGINT', stop);
}
