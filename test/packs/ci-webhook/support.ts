import { createHmac } from 'node:crypto';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { parseCiWebhookConfig } from '../../../packs/ci-webhook/ci-webhook-config.ts';
import { type CiWebhookPack, createCiWebhookPack } from '../../../packs/ci-webhook/ci-webhook-pack.ts';
import type {
  Bus,
  Consumption,
  DeadLetterQueue,
  Destination,
  Hold,
  MessageHandler,
  PublishOptions,
  QueueSpec,
  QueueState,
} from '../../../shared/bus/bus.ts';
import { MemoryBus } from '../../../shared/bus/memory-bus.ts';
import type { Envelope } from '../../../shared/envelope.ts';
import type { PackRuntime } from '../../../shared/runtime/pack-runtime.ts';
import { EventCollector } from '../../support/bus.ts';
import { startPackRuntime } from '../../support/test-pack.ts';

/** `sha256:<hex>`, as JobServ signs. */
export function jobservSignature(secret: string, body: string | Buffer): string {
  return `sha256:${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** `sha256=<hex>`, as GitHub signs. */
export function githubSignature(secret: string, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** Standard-Webhooks headers for `body`, signed now (or at `timestamp`) with a decoded key. */
export function standardWebhookHeaders(
  key: Buffer,
  id: string,
  body: string,
  timestamp = Math.floor(Date.now() / 1000),
): Record<string, string> {
  const signature = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64');
  return { 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': `v1,${signature}` };
}

/**
 * The in-memory bus with a broker that can fail on purpose: `fail` refuses publishes, `hold` keeps them
 * unconfirmed until release() (a broker that is slow to confirm, or a connection being re-made).
 */
export class ControllableBus implements Bus {
  readonly inner = new MemoryBus();
  mode: 'ok' | 'fail' | 'hold' = 'ok';
  /** Publishes refused or held so far. */
  refused = 0;
  readonly #held: Array<() => void> = [];

  async publish(destination: Destination, envelope: Envelope, options?: PublishOptions): Promise<void> {
    if (this.mode === 'fail') {
      this.refused++;
      throw new Error('the broker is unreachable');
    }
    if (this.mode === 'hold') {
      await new Promise<void>((resolve) => this.#held.push(resolve));
    }
    await this.inner.publish(destination, envelope, options);
  }

  /** Lets every held publish through, as a broker confirming late. */
  release(): void {
    for (const confirm of this.#held.splice(0)) confirm();
  }

  get heldCount(): number {
    return this.#held.length;
  }

  consume(spec: QueueSpec, handler: MessageHandler): Promise<Consumption> {
    return this.inner.consume(spec, handler);
  }

  declareQueue(name: string, bindings: QueueSpec['bindings']): Promise<void> {
    return this.inner.declareQueue(name, bindings);
  }

  hasQueue(name: string): Promise<boolean> {
    return this.inner.hasQueue(name);
  }

  inspectQueue(name: string): Promise<QueueState | undefined> {
    return this.inner.inspectQueue(name);
  }

  hold(name: string): Promise<Hold | undefined> {
    return this.inner.hold(name);
  }

  deadLetters(): DeadLetterQueue {
    return this.inner.deadLetters();
  }

  isConnected(): boolean {
    return this.mode === 'ok' && this.inner.isConnected();
  }

  close(): Promise<void> {
    this.release();
    return this.inner.close();
  }
}

/** The ci-webhook pack on a ControllableBus, with its events, metrics and log lines at hand. */
export interface Running {
  bus: ControllableBus;
  pack: CiWebhookPack;
  runtime: PackRuntime;
  events: EventCollector;
  registry: Registry;
  logs: string[];
}

export async function startPack(env: Record<string, string>): Promise<Running> {
  const bus = new ControllableBus();
  const events = await EventCollector.start(bus, 'ci-webhook.*');
  const registry = new Registry();
  const logs: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(line) });
  const pack = await createCiWebhookPack(
    parseCiWebhookConfig({ CI_WEBHOOK_PORT: '0', CI_WEBHOOK_HOST: '127.0.0.1', ...env }),
    { registry },
  );
  const runtime = await startPackRuntime(bus, pack, { logger });
  return { bus, pack, runtime, events, registry, logs };
}

export async function stopPack(running: Running): Promise<void> {
  running.bus.mode = 'ok';
  await running.runtime.stop({ graceMs: 1000 });
  await running.events.stop();
  await running.bus.close();
}
