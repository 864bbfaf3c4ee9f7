import { deterministicId } from '../shared/deterministic-id.ts';
import type { FlowStep, LoadedFlow } from './flow.ts';

/**
 * The correlation id of the instance the engine starts when `eventId` fires the entry step `stepId` of
 * `flowName`: derived, so that a redelivered event starts nothing twice, and so that the console's Try can
 * link a published event to its execution.
 */
export function instanceIdFor(eventId: string, flowName: string, stepId: string): string {
  return deterministicId('instance', eventId, flowName, stepId);
}

/** One step of one loaded flow, with the id the engine knows it by. */
export interface IndexedStep {
  loaded: LoadedFlow;
  step: FlowStep;
  /** The step's id, or `#<index>` when it has none (such a step cannot be named in dependsOn). */
  stepId: string;
}

export function stepIdOf(step: FlowStep, index: number): string {
  return step.id ?? `#${index}`;
}

/** Flyte's pack names match case-insensitively; on the bus they are lower-case. */
export function busPackName(packName: string): string {
  return packName.toLowerCase();
}

/**
 * The steps that start instances (no dependsOn), by the event they listen for, so that an event costs only
 * the steps that listen for it.
 */
export class FlowIndex {
  readonly #entrySteps = new Map<string, IndexedStep[]>();

  constructor(flows: readonly LoadedFlow[]) {
    for (const loaded of flows) {
      loaded.flow.steps.forEach((step, index) => {
        if (step.dependsOn && step.dependsOn.length > 0) return;
        const key = eventKey(busPackName(step.event.packName), step.event.name);
        const steps = this.#entrySteps.get(key) ?? [];
        steps.push({ loaded, step, stepId: stepIdOf(step, index) });
        this.#entrySteps.set(key, steps);
      });
    }
  }

  entryStepsFor(pack: string, eventName: string): readonly IndexedStep[] {
    return this.#entrySteps.get(eventKey(pack, eventName)) ?? [];
  }
}

/** The steps of a flow that continue an instance after `finishedStepId` (dependsOn is OR). */
export function continuationSteps(loaded: LoadedFlow, finishedStepId: string): IndexedStep[] {
  const steps: IndexedStep[] = [];
  loaded.flow.steps.forEach((step, index) => {
    if (step.dependsOn?.includes(finishedStepId)) steps.push({ loaded, step, stepId: stepIdOf(step, index) });
  });
  return steps;
}

function eventKey(pack: string, name: string): string {
  return `${pack}\u0000${name}`;
}
