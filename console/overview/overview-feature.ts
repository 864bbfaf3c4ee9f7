import { sendJson } from '../http-guard.ts';
import type { ConsoleFeature, ConsoleSources } from '../routes.ts';

/** The Overview page's API: the pack instances seen. */
export function overviewFeature({ packs }: ConsoleSources): ConsoleFeature {
  return {
    routes: [
      {
        method: 'GET',
        path: '/api/packs',
        handle: ({ response }) => sendJson(response, 200, { packs: packs.list() }),
      },
    ],
  };
}
