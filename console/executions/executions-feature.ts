import type { ConsoleFeature, ConsoleSources } from '../routes.ts';

// Being built (issue 13): this page's routes come here.
export function executionsFeature(_sources: ConsoleSources): ConsoleFeature {
  return { routes: [] };
}
