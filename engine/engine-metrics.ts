import { Counter, type Registry } from 'prom-client';

/** The flow engine's Prometheus metrics, on the process's registry. */
export class EngineMetrics {
  readonly events: Counter<'pack' | 'event'>;
  readonly stepsFired: Counter<'flow' | 'step'>;
  readonly stepErrors: Counter<'flow' | 'step'>;
  readonly executionsFinished: Counter<'flow' | 'status'>;

  constructor(registry: Registry) {
    this.events = new Counter({
      name: 'switchboard_engine_events_total',
      help: 'Events the engine evaluated.',
      labelNames: ['pack', 'event'],
      registers: [registry],
    });
    this.stepsFired = new Counter({
      name: 'switchboard_engine_steps_fired_total',
      help: 'Steps that fired and published their command.',
      labelNames: ['flow', 'step'],
      registers: [registry],
    });
    this.stepErrors = new Counter({
      name: 'switchboard_engine_step_errors_total',
      help: 'Steps skipped because a template failed.',
      labelNames: ['flow', 'step'],
      registers: [registry],
    });
    this.executionsFinished = new Counter({
      name: 'switchboard_engine_executions_total',
      help: 'Executions finished, by status (succeeded, failed, timed_out).',
      labelNames: ['flow', 'status'],
      registers: [registry],
    });
  }
}
