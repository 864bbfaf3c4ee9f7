import { sendJson } from '../http-guard.ts';
import type { ConsoleFeature, ConsoleSources } from '../routes.ts';

/** The variables of the console's process, redacted once at start: what the Overview shows under This process. */
export function settingsFeature({ settings }: ConsoleSources): ConsoleFeature {
  return {
    routes: [
      {
        method: 'GET',
        path: '/api/settings',
        handle: ({ response }) => sendJson(response, 200, { settings }),
      },
    ],
  };
}
