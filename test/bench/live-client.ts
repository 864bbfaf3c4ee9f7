/**
 * The benchmark's Live client: one GET /api/events stream read for as long as the run lasts, as the Live
 * page's EventSource would, counting the messages it gets and those the console says it dropped.
 */
export interface LiveClient {
  /** Messages (SSE `data:` blocks) received so far. */
  readonly messages: number;
  /** What the console's `dropped` events said this client missed. */
  readonly dropped: number;
  /** Why the stream broke before close(), if it did. */
  readonly error: Error | undefined;
  /** Ends the stream; resolves once it is closed. */
  close(): Promise<void>;
}

/** Opens the stream; resolves once the console answered 200, so everything published after is seen. */
export async function openLiveClient(consoleUrl: string): Promise<LiveClient> {
  const controller = new AbortController();
  const response = await fetch(`${consoleUrl}/api/events`, { signal: controller.signal });
  if (response.status !== 200 || !response.body) {
    throw new Error(`GET ${consoleUrl}/api/events answered ${response.status}: ${await response.text()}`);
  }
  const counts = { messages: 0, dropped: 0 };
  let failure: Error | undefined;
  const reading = (async () => {
    const decoder = new TextDecoder();
    let carry = '';
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        const blocks = (carry + decoder.decode(chunk, { stream: true })).split('\n\n');
        carry = blocks.pop() ?? '';
        for (const block of blocks) {
          if (block.startsWith('data: ')) counts.messages++;
          else if (block.startsWith('event: dropped\n')) {
            counts.dropped += (
              JSON.parse(block.slice(block.indexOf('data: ') + 6)) as { dropped: number }
            ).dropped;
          }
        }
      }
    } catch (error) {
      if (!controller.signal.aborted) failure = error as Error;
    }
    if (!controller.signal.aborted) failure ??= new Error('the console ended the stream');
  })();
  return {
    get messages() {
      return counts.messages;
    },
    get dropped() {
      return counts.dropped;
    },
    get error() {
      return failure;
    },
    async close() {
      controller.abort();
      await reading;
    },
  };
}
