import { decodeEnvelope, type Envelope } from '../shared/envelope.ts';
import type { Flow, FlowStep, LoadedFlow } from './flow.ts';
import { busPackName, stepIdOf } from './flow-index.ts';
import { evaluateStep, type StepOutcome } from './step-evaluator.ts';
import type { TemplateEngine } from './templates/template-engine.ts';

/** The id an event gets in a dry run when it has none: nothing is published, so it need not be unique. */
export const DRY_RUN_EVENT_ID = 'dry-run';

export type DryRunEvent = { ok: true; event: Envelope } | { ok: false; reason: string };

/**
 * An event as `flows test` and the console's Try take it: a whole envelope, or only {pack, name, payload}
 * with the rest filled in (the id given, createdAt now, kind event), and the pack written as in flows
 * ("Slack" is the slack pack). Checked against the envelope schema like any event on the bus.
 */
export function readDryRunEvent(
  value: unknown,
  defaults: { id: string } = { id: DRY_RUN_EVENT_ID },
): DryRunEvent {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, reason: 'the event must be a JSON object' };
  }
  const event = value as Record<string, unknown>;
  const withDefaults = {
    id: defaults.id,
    ...event,
    pack: typeof event.pack === 'string' ? busPackName(event.pack) : event.pack,
  };
  const decoded = decodeEnvelope(Buffer.from(JSON.stringify(withDefaults)), 'event');
  return decoded.ok ? { ok: true, event: decoded.envelope } : { ok: false, reason: decoded.reason };
}

/**
 * Why a step that continues an instance did not fire for this event: the engine evaluates it only on the
 * result of a command of a step it depends on. `ifContinued` is what it would do if this event were
 * that result, so a result event (a `...Failed`, say) can be tried against the step that handles it.
 */
export interface DependsOnOutcome {
  fired: false;
  stage: 'dependsOn';
  reason: string;
  ifContinued: StepOutcome;
}

export type StepDryRun = { stepId: string; dependsOn: string[] } & (StepOutcome | DependsOnOutcome);

export interface FlowDryRun {
  flow: string;
  /** Every step of the flow, in its order. */
  steps: StepDryRun[];
  /** How many steps this event fires. */
  fired: number;
}

/**
 * What the engine would do with `event` for one flow, step by step, without a bus or a store: the steps
 * without dependsOn are evaluated as the engine evaluates them (docs/engine.md); those with dependsOn do
 * not fire on a new event, and say why.
 */
export async function dryRunFlow(
  flow: Flow,
  event: Envelope,
  templates: TemplateEngine,
): Promise<FlowDryRun> {
  const steps: Array<StepDryRun | undefined> = flow.steps.map(() => undefined);
  // Steps that start instances first: a step may depend on one written after it.
  for (const [index, step] of flow.steps.entries()) {
    const dependsOn = step.dependsOn ?? [];
    if (dependsOn.length > 0) continue;
    steps[index] = {
      stepId: stepIdOf(step, index),
      dependsOn,
      ...(await evaluateStep(step, event, {}, templates)),
    };
  }
  const entries = steps.filter((step) => step !== undefined);
  for (const [index, step] of flow.steps.entries()) {
    if (steps[index]) continue;
    const outcome = await continuation(step, event, entries, templates);
    steps[index] = { stepId: stepIdOf(step, index), dependsOn: step.dependsOn ?? [], ...outcome };
  }
  const all = steps.filter((step) => step !== undefined);
  return { flow: flow.name, steps: all, fired: all.filter((step) => step.fired).length };
}

/** Every flow in force, each dry-run against the event, with the file and version it was loaded from. */
export async function dryRunFlows(
  flows: readonly LoadedFlow[],
  event: Envelope,
  templates: TemplateEngine,
): Promise<Array<FlowDryRun & { file: string; version: string }>> {
  const results = [];
  for (const loaded of flows) {
    results.push({
      ...(await dryRunFlow(loaded.flow, event, templates)),
      file: loaded.file,
      version: loaded.version,
    });
  }
  return results;
}

async function continuation(
  step: FlowStep,
  event: Envelope,
  entries: readonly StepDryRun[],
  templates: TemplateEngine,
): Promise<DependsOnOutcome> {
  const dependsOn = step.dependsOn ?? [];
  const parent = entries.find((candidate) => candidate.fired && dependsOn.includes(candidate.stepId));
  let reason: string;
  if (parent?.fired) {
    const { pack, name } = parent.command;
    reason = `it runs on the result of ${parent.stepId}'s command (${pack}.${name}), not on this event`;
  } else {
    const none =
      dependsOn.length === 1 ? `${dependsOn[0]} did not fire` : `none of ${dependsOn.join(', ')} fired`;
    reason = `it runs only on the result of the command of ${dependsOn.join(' or ')}, and ${none} for this event`;
  }
  // The instance's context is what its earlier steps rendered; without a parent here, there is none.
  const context = parent?.fired ? parent.context : {};
  return {
    fired: false,
    stage: 'dependsOn',
    reason,
    ifContinued: await evaluateStep(step, event, context, templates),
  };
}
