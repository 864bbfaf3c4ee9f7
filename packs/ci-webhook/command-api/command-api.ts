import type { PackContext } from '../../../shared/runtime/pack-definition.ts';
import type { HttpRoute } from '../webhook-server.ts';
import type { CommandApiConfig } from './command-api-config.ts';

// Being built (issue 14, the HTTP command API): POST /v1/commands/<pack>/<Command>.

/** The routes of the command API on the pack's HTTP server, and what to stop with the pack. */
export async function startCommandApi(
  _config: CommandApiConfig,
  _context: PackContext,
): Promise<{ routes: HttpRoute[]; stop(): Promise<void> }> {
  return { routes: [], stop: async () => {} };
}
