import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** The Prometheus metrics of one process; served on /metrics. */
export class Metrics {
  readonly registry = new Registry();
  readonly commands = new Counter({
    name: 'switchboard_commands_total',
    help: 'Commands finished, by pack, command and outcome (success, failure, duplicate).',
    labelNames: ['pack', 'command', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly commandDuration = new Histogram({
    name: 'switchboard_command_duration_seconds',
    help: 'Time from taking a command to its result event being confirmed.',
    labelNames: ['pack', 'command'] as const,
    buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60],
    registers: [this.registry],
  });
  readonly retries = new Counter({
    name: 'switchboard_command_retries_total',
    help: 'Retries of commands after a transient failure, by error code.',
    labelNames: ['pack', 'command', 'error_code'] as const,
    registers: [this.registry],
  });
  readonly eventsEmitted = new Counter({
    name: 'switchboard_events_emitted_total',
    help: 'Events published by packs, results included.',
    labelNames: ['pack', 'event'] as const,
    registers: [this.registry],
  });
  readonly busConnected = new Gauge({
    name: 'switchboard_bus_connected',
    help: '1 while the process is connected to the bus.',
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }
}
