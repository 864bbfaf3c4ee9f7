import type { EngineView } from '../engine-view.ts';
import type { Refusal } from '../http-guard.ts';

/** The engine of this process, or a 503 saying there is none: Flows and Try read its flows. */
export function requireEngine(engine: EngineView | undefined): EngineView {
  if (engine) return engine;
  throw {
    status: 503,
    code: 'engine_not_running',
    message:
      "no flow engine runs in this console's process: start it with `switchboard all`, or `switchboard engine` with SWITCHBOARD_CONSOLE_PORT set",
  } satisfies Refusal;
}
