import { Client4 } from '@mattermost/client';

type FetchWithResponse = (
  url: string,
  options: RequestInit & { ignoreStatus?: boolean },
) => Promise<{ response: Response; headers: Headers; data: unknown }>;

/** A Mattermost answer that was not 2xx, with what Client4 would have dropped: the status and headers. */
export class MattermostHttpError extends Error {
  readonly status: number;
  readonly headers: Headers;
  readonly serverErrorId: string | undefined;

  constructor(status: number, headers: Headers, data: unknown) {
    const body = (typeof data === 'object' && data !== null ? data : {}) as { message?: string; id?: string };
    super(body.message || (typeof data === 'string' && data.trim()) || `HTTP ${status}`);
    this.name = 'MattermostHttpError';
    this.status = status;
    this.headers = headers;
    this.serverErrorId = body.id;
  }
}

/**
 * Client4, the official REST client, changed in one respect: an error answer keeps its status and headers.
 * Client4 reads only a JSON error body, and Mattermost's 429 is text/plain with Retry-After and
 * X-RateLimit-Reset in the headers, so the pack could not tell how long to wait. Every request still goes
 * through Client4 (its routes, auth and parsing); only the way a failure is reported changes.
 */
export function createMattermostClient(url: string, token: string): Client4 {
  const client = new Client4();
  client.setUrl(url);
  client.setToken(token);
  client.setUserAgent('switchboard-mattermost');
  // A private member of Client4 11.9 (pinned exactly in package.json); the pack's tests fail if it moves.
  const internals = client as unknown as { doFetchWithResponse: FetchWithResponse };
  const fetchWithResponse = internals.doFetchWithResponse;
  internals.doFetchWithResponse = async (requestUrl, options) => {
    const result = await fetchWithResponse(requestUrl, { ...options, ignoreStatus: true });
    if (result.response.ok) return result;
    throw new MattermostHttpError(result.response.status, result.response.headers, result.data);
  };
  return client;
}
