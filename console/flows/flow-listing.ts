import type { Flow } from '../../engine/flow.ts';
import { busPackName, stepIdOf } from '../../engine/flow-index.ts';
import { checkFlowCommands } from '../../engine/flow-templates.ts';
import type { FlowFile } from '../../engine/flows/flow-directory.ts';
import { formatProblem } from '../../engine/flows/parse-flow.ts';
import type { EngineView } from '../engine-view.ts';

/** One step as the Flows page draws it: a node, with how often it fired and failed. */
export interface StepNode {
  id: string;
  /** `pack.Name` of the event it listens for, the pack as on the bus. */
  event: string;
  /** `pack.Name` of the command it sends. */
  command: string;
  dependsOn: string[];
  /** Over the executions the engine still keeps (retention prunes older ones). */
  fired: number;
  failed: number;
}

/** `dependsOn` as edges: `from` finished, then `to` may run on its result. */
export interface StepEdge {
  from: string;
  to: string;
}

export interface FlowListing {
  file: string;
  /** loaded: the file's current text is in force; refused: it has problems and is not. */
  state: 'loaded' | 'refused';
  /** Of the version of this file in force; null when none is. */
  name: string | null;
  version: string | null;
  description: string | null;
  /** As `switchboard flows check` prints them: `file:path: reason`. Empty when loaded. */
  problems: string[];
  /**
   * Commands that packs did not announce, or inputs missing a field the command requires, against the
   * PackStarted the engine kept (as `flows check` reports them). The engine runs the flow anyway.
   */
  warnings: string[];
  /** The file's text as last read; null when it could not be read. */
  source: string | null;
  /** A refused file whose previous version still runs: that version's text; otherwise null. */
  sourceInForce: string | null;
  /** The steps of the version in force; null when none is. */
  graph: { nodes: StepNode[]; edges: StepEdge[] } | null;
}

/** Every flow file of the engine's flows directory, as GET /api/flows answers it. */
export function listFlows(engine: EngineView): { flowsDir: string; flows: FlowListing[] } {
  const manifests = engine.store.packManifests();
  return {
    flowsDir: engine.flowsDir,
    flows: engine.flows.files().map((file) => listing(file, engine, manifests)),
  };
}

function listing(
  file: FlowFile,
  engine: EngineView,
  manifests: ReturnType<EngineView['store']['packManifests']>,
): FlowListing {
  const loaded = file.inForce?.loaded;
  const refused = file.problems.length > 0 || loaded === undefined;
  const problems = file.problems.map(formatProblem);
  // Defensive: a file neither in force nor with a problem would otherwise be refused without a reason.
  if (refused && problems.length === 0) problems.push(`${file.file}:/: not in force`);
  return {
    file: file.file,
    state: refused ? 'refused' : 'loaded',
    name: loaded?.flow.name ?? null,
    version: loaded?.version ?? null,
    description: loaded?.flow.description ?? null,
    problems,
    warnings: loaded ? checkFlowCommands(loaded.flow, file.file, manifests).map(formatProblem) : [],
    source: file.text ?? null,
    sourceInForce: refused && file.inForce ? file.inForce.text : null,
    graph: loaded ? stepGraph(loaded.flow, engine) : null,
  };
}

function stepGraph(flow: Flow, engine: EngineView): { nodes: StepNode[]; edges: StepEdge[] } {
  const counts = new Map(engine.store.stepCounts(flow.name).map((count) => [count.stepId, count]));
  const nodes = flow.steps.map((step, index): StepNode => {
    const id = stepIdOf(step, index);
    return {
      id,
      event: `${busPackName(step.event.packName)}.${step.event.name}`,
      command: `${busPackName(step.command.packName)}.${step.command.name}`,
      dependsOn: step.dependsOn ?? [],
      fired: counts.get(id)?.fired ?? 0,
      failed: counts.get(id)?.failed ?? 0,
    };
  });
  const edges = nodes.flatMap((node) => node.dependsOn.map((from) => ({ from, to: node.id })));
  return { nodes, edges };
}
