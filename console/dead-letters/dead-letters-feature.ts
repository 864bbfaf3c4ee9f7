import type { ConsoleFeature, ConsoleSources } from '../routes.ts';

// Being built (issue 13): this page's routes come here.
export function deadLettersFeature(_sources: ConsoleSources): ConsoleFeature {
  return { routes: [] };
}
