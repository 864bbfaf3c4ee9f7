import type { FlowDirectory } from '../engine/flows/flow-directory.ts';
import type { EngineStore } from '../engine/state/engine-store.ts';
import type { TemplateEngine } from '../engine/templates/template-engine.ts';

/** The parts of a running engine the console reads: its store, its flows, its templates (for dry runs). */
export interface EngineView {
  readonly store: EngineStore;
  readonly flows: FlowDirectory;
  readonly templates: TemplateEngine;
  /** The flows directory, as configured (SWITCHBOARD_FLOWS_DIR or --flows). */
  readonly flowsDir: string;
}
