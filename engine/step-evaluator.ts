import type { Envelope, Labels } from '../shared/envelope.ts';
import { labelsInclude } from '../shared/runtime/labels.ts';
import type { FlowStep } from './flow.ts';
import { busPackName } from './flow-index.ts';
import type { TemplateEngine, TemplateScope } from './templates/template-engine.ts';

/** The command a fired step publishes, rendered. */
export interface RenderedCommand {
  pack: string;
  name: string;
  payload: unknown;
  labels: Labels | undefined;
}

export type StepOutcome =
  | { fired: true; context: Record<string, unknown>; command: RenderedCommand }
  | {
      fired: false;
      /** Which check stopped it: the event's pack, name or labels, the criteria, or an error in a template. */
      stage: 'pack' | 'name' | 'labels' | 'criteria' | 'error';
      reason: string;
      context?: Record<string, unknown>;
      criteriaOutput?: string;
    };

export function scopeFor(event: Envelope, context: Record<string, unknown>): TemplateScope {
  return {
    Event: {
      Name: event.name,
      Pack: { Name: event.pack, Labels: { ...(event.labels ?? {}) } },
      Payload: event.payload,
      CreatedAt: event.createdAt,
    },
    Context: context,
  };
}

/**
 * Flyte's evaluation of one step against one event: the event must match (pack, name, labels), then the
 * context is rendered (each value sees only the parent context), the criteria decide, and the command is
 * rendered. Template errors do not throw: they are the outcome.
 */
export async function evaluateStep(
  step: FlowStep,
  event: Envelope,
  parentContext: Record<string, unknown>,
  templates: TemplateEngine,
): Promise<StepOutcome> {
  const wantedPack = busPackName(step.event.packName);
  if (wantedPack !== event.pack) {
    return {
      fired: false,
      stage: 'pack',
      reason: `the step listens to pack "${wantedPack}", the event is from "${event.pack}"`,
    };
  }
  if (step.event.name !== event.name) {
    return {
      fired: false,
      stage: 'name',
      reason: `the step listens to ${step.event.name}, the event is ${event.name}`,
    };
  }
  if (!labelsInclude(event.labels ?? {}, step.event.packLabels)) {
    return {
      fired: false,
      stage: 'labels',
      reason: `the step wants pack labels ${JSON.stringify(step.event.packLabels)}, the event has ${JSON.stringify(event.labels ?? {})}`,
    };
  }
  let context = parentContext;
  try {
    const parentScope = scopeFor(event, parentContext);
    const rendered: Record<string, unknown> = {};
    for (const [key, source] of Object.entries(step.context ?? {})) {
      rendered[key] = await templates.renderValue(source, parentScope);
    }
    context = { ...parentContext, ...rendered };
    const scope = scopeFor(event, context);
    const criteria = await templates.evaluateCriteria(step.criteria, scope);
    if (!criteria.pass) {
      return {
        fired: false,
        stage: 'criteria',
        reason: criteria.reason ?? `the criteria rendered "${criteria.output}", which is false`,
        context,
        criteriaOutput: criteria.output,
      };
    }
    return {
      fired: true,
      context,
      command: {
        pack: busPackName(step.command.packName),
        name: step.command.name,
        payload: await templates.renderInput(step.command.input ?? {}, scope),
        labels: step.command.packLabels,
      },
    };
  } catch (error) {
    return { fired: false, stage: 'error', reason: (error as Error).message, context };
  }
}
