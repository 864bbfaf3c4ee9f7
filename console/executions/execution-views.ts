import type { Flow } from '../../engine/flow.ts';
import { stepIdOf } from '../../engine/flow-index.ts';
import { type Execution, type Instance, retryRefusal } from '../../engine/state/engine-store.ts';
import type { Envelope } from '../../shared/envelope.ts';

/** One execution as the list shows it: what ran, how it went; the envelopes only by name. */
export interface ExecutionSummary {
  id: string;
  correlationId: string;
  flowName: string;
  flowVersion: string;
  stepId: string;
  status: Execution['status'];
  trigger: { pack: string; name: string };
  command: { pack: string; name: string };
  error?: string;
  startedAt: string;
  finishedAt?: string;
  durationMs?: number;
  retryOf?: string;
  retriedBy?: string;
  /** Whether POST /api/executions/<id>/retry would run it again (failed or timed out, not run again yet, its command sent). */
  canRunAgain: boolean;
}

/** One execution in its instance's timeline: everything recorded, and the context its step set. */
export interface TimelineExecution extends Omit<ExecutionSummary, 'trigger' | 'command'> {
  triggerEvent: Envelope;
  command: Envelope;
  resultEvent?: Envelope;
  /**
   * The keys the step's `context` sets, with their values as the instance holds them now. The store
   * keeps one context per instance (each step's merged over it), not one per execution: a later step
   * that sets the same key shows its value here too. Absent when the step sets no context.
   */
  context?: Record<string, unknown>;
}

export interface InstanceTimeline {
  /** Absent once retention removed the instance (its executions may remain a while). */
  instance?: {
    correlationId: string;
    flowName: string;
    flowVersion: string;
    /** The context every step accumulated, as the next step would see it. */
    context: Record<string, unknown>;
    /** Steps that fired, in the order they fired. */
    stepsDone: string[];
    createdAt: string;
    updatedAt: string;
  };
  /** The event that started the instance: the first execution's trigger. */
  trigger?: Envelope;
  /** Oldest first. */
  executions: TimelineExecution[];
}

export function summaryOf(execution: Execution): ExecutionSummary {
  const summary: ExecutionSummary = {
    id: execution.id,
    correlationId: execution.correlationId,
    flowName: execution.flowName,
    flowVersion: execution.flowVersion,
    stepId: execution.stepId,
    status: execution.status,
    trigger: { pack: execution.triggerEvent.pack, name: execution.triggerEvent.name },
    command: { pack: execution.command.pack, name: execution.command.name },
    startedAt: execution.startedAt,
    canRunAgain: retryRefusal(execution) === undefined,
  };
  copyOptional(execution, summary);
  return summary;
}

export function timelineOf(instance: Instance | undefined, executions: Execution[]): InstanceTimeline {
  // Built in reading order: the instance, what started it, then its steps.
  const timeline: Partial<InstanceTimeline> = {};
  if (instance) {
    timeline.instance = {
      correlationId: instance.correlationId,
      flowName: instance.flowName,
      flowVersion: instance.flowVersion,
      context: instance.context,
      stepsDone: instance.stepsDone,
      createdAt: instance.createdAt,
      updatedAt: instance.updatedAt,
    };
  }
  const first = executions[0];
  if (first) timeline.trigger = first.triggerEvent;
  timeline.executions = executions.map((execution) => {
    const entry: TimelineExecution = {
      id: execution.id,
      correlationId: execution.correlationId,
      flowName: execution.flowName,
      flowVersion: execution.flowVersion,
      stepId: execution.stepId,
      status: execution.status,
      triggerEvent: execution.triggerEvent,
      command: execution.command,
      startedAt: execution.startedAt,
      canRunAgain: retryRefusal(execution) === undefined,
    };
    if (execution.resultEvent !== undefined) entry.resultEvent = execution.resultEvent;
    copyOptional(execution, entry);
    const context = instance && stepContext(instance.flow, instance.context, execution.stepId);
    if (context !== undefined) entry.context = context;
    return entry;
  });
  return timeline as InstanceTimeline;
}

/** The instance's values of the keys `stepId`'s context sets, in the flow as the instance started it. */
function stepContext(
  flow: Flow,
  context: Record<string, unknown>,
  stepId: string,
): Record<string, unknown> | undefined {
  const step = flow.steps.find((candidate, index) => stepIdOf(candidate, index) === stepId);
  const keys = Object.keys(step?.context ?? {});
  if (keys.length === 0) return undefined;
  return Object.fromEntries(keys.map((key) => [key, context[key] ?? null]));
}

function copyOptional(
  execution: Execution,
  target: Pick<ExecutionSummary, 'error' | 'finishedAt' | 'durationMs' | 'retryOf' | 'retriedBy'>,
): void {
  if (execution.error !== undefined) target.error = execution.error;
  if (execution.finishedAt !== undefined) target.finishedAt = execution.finishedAt;
  if (execution.durationMs !== undefined) target.durationMs = execution.durationMs;
  if (execution.retryOf !== undefined) target.retryOf = execution.retryOf;
  if (execution.retriedBy !== undefined) target.retriedBy = execution.retriedBy;
}
