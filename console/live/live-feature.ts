import type { TappedMessage } from '../bus-tap.ts';
import type { Refusal } from '../http-guard.ts';
import type { ConsoleFeature, ConsoleSources } from '../routes.ts';
import { matchesLiveFilter, parseLiveFilter } from './live-filter.ts';
import { SseStream, type SseStreamOptions } from './sse-stream.ts';

export interface LiveOptions extends SseStreamOptions {
  /** Streams open at once; one more gets 503. Default: 64 (a few operators with a few tabs each). */
  maxStreams: number;
}

export const LIVE_DEFAULTS: Readonly<LiveOptions> = {
  heartbeatMs: 15_000,
  // About a thousand typical envelopes: a tab in the background catches up, a stuck one costs 1 MiB.
  maxQueuedBytes: 1024 * 1024,
  maxStreams: 64,
};

/** The Live page's API: GET /api/events, every event and command passing on the bus, as Server-Sent Events. */
export function liveFeature(sources: ConsoleSources): ConsoleFeature {
  return createLiveFeature(sources, LIVE_DEFAULTS);
}

export function createLiveFeature(
  { tap }: Pick<ConsoleSources, 'tap'>,
  options: LiveOptions,
): ConsoleFeature {
  const streams = new Set<SseStream>();
  return {
    routes: [
      {
        method: 'GET',
        path: '/api/events',
        handle: ({ url, response }) => {
          const filter = parseLiveFilter(url.searchParams);
          if (streams.size >= options.maxStreams) {
            response.setHeader('Retry-After', '10');
            throw {
              status: 503,
              code: 'too_many_streams',
              message: `${options.maxStreams} live streams are open already; close one (a browser tab on Live)`,
            } satisfies Refusal;
          }
          const stream = SseStream.open(response, options);
          if (response.req.method === 'HEAD') {
            stream.end();
            return;
          }
          streams.add(stream);
          // The tap calls every listener for every message: only what matches is serialized.
          const unsubscribe = tap.subscribe((message) => {
            if (matchesLiveFilter(filter, message)) stream.send(serialize(message));
          });
          stream.onClose(() => {
            unsubscribe();
            streams.delete(stream);
          });
        },
      },
    ],
    async stop() {
      for (const stream of [...streams]) stream.end();
    },
  };
}

/** One SSE message: the whole envelope as it passed, where it was routed and when the console saw it. */
function serialize({ envelope, routingKey, sentBy, seenAt }: TappedMessage): string {
  return JSON.stringify({
    envelope,
    routingKey,
    seenAt: seenAt.toISOString(),
    ...(sentBy ? { sentBy } : {}),
  });
}
