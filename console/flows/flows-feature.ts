import { sendJson } from '../http-guard.ts';
import type { ConsoleFeature, ConsoleSources } from '../routes.ts';
import { listFlows } from './flow-listing.ts';
import { requireEngine } from './require-engine.ts';
import { tryRoutes } from './try-routes.ts';

/** The Flows page's API (GET /api/flows) and the Try page's, which dry-runs the same flows. */
export function flowsFeature(sources: ConsoleSources): ConsoleFeature {
  return {
    routes: [
      {
        method: 'GET',
        path: '/api/flows',
        handle: ({ response }) => sendJson(response, 200, listFlows(requireEngine(sources.engine))),
      },
      ...tryRoutes(sources),
    ],
  };
}
