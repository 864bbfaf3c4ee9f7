import { asCodedError, CodedError } from '../errors.ts';

/**
 * Posts to every channel at once and reports the outcome as a Broadcast does: the channels it reached, or
 * a failure (not retryable) that names the channels that failed and the ones that did not. Not retried as
 * a whole: each channel was already retried in place, and a second round would post again where the
 * first succeeded.
 */
export async function postToEvery(
  channelIds: readonly string[],
  postOne: (channelId: string) => Promise<unknown>,
): Promise<string[]> {
  const results = await Promise.all(
    channelIds.map(async (channelId) => {
      try {
        await postOne(channelId);
        return { channelId, error: undefined };
      } catch (error) {
        return { channelId, error: asCodedError(error) };
      }
    }),
  );
  const failed = results.filter((result) => result.error);
  const first = failed[0]?.error;
  if (first) {
    throw new CodedError(
      first.code,
      `${failed.length} of ${channelIds.length} channels failed: ${first.message}`,
      {
        cause: first,
        details: {
          failedChannelIds: failed.map((result) => result.channelId),
          channelIds: results.filter((result) => !result.error).map((result) => result.channelId),
        },
      },
    );
  }
  return [...channelIds];
}
