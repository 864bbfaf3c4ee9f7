/** A flow in Flyte's format (docs/flow.schema.json): steps that turn matching events into commands. */
export interface Flow {
  name: string;
  description?: string;
  steps: FlowStep[];
}

export interface FlowStep {
  /** Needed only when another step names it in `dependsOn`. */
  id?: string;
  /** The event that fires the step; `packName` matches case-insensitively. */
  event: { packName: string; name: string; packLabels?: Record<string, string> };
  /** A template whose output is read like Go's strconv.ParseBool; empty means true. */
  criteria?: string;
  /** Templates evaluated against the event; each sees only the parent context. */
  context?: Record<string, string>;
  /** The command to publish; every string leaf of `input` is a template. */
  command: { packName: string; name: string; input?: unknown; packLabels?: Record<string, string> };
  /** Runs only to continue an instance, after one of these steps finished (OR). */
  dependsOn?: string[];
}

/** A flow as loaded from its file, with the version that running instances keep. */
export interface LoadedFlow {
  flow: Flow;
  file: string;
  /** sha256 of the file's bytes, first 12 hex digits. */
  version: string;
}
