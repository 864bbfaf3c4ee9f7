import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { Flow } from '../flow.ts';
import { inReadTransaction, inTransaction } from './database.ts';
import { changes, json, type Row, text, toJson } from './rows.ts';

/** A running flow: what its steps accumulated, and which of them already fired. */
export interface Instance {
  correlationId: string;
  flowName: string;
  flowVersion: string;
  /** The flow as it was when the instance started (running instances keep their version). */
  flow: Flow;
  /** Accumulated context. */
  context: Record<string, unknown>;
  /** Step ids that already fired (each step at most once per instance), in the order they fired. */
  stepsDone: string[];
  createdAt: string;
  updatedAt: string;
}

export type NewInstance = Omit<Instance, 'createdAt' | 'updatedAt'>;

export class Instances {
  readonly #db: DatabaseSync;
  readonly #now: () => Date;
  readonly #insert: StatementSync;
  readonly #get: StatementSync;
  readonly #getContext: StatementSync;
  readonly #updateContext: StatementSync;
  readonly #insertStep: StatementSync;
  readonly #steps: StatementSync;
  readonly #deleteAbandoned: StatementSync;

  constructor(db: DatabaseSync, now: () => Date) {
    this.#db = db;
    this.#now = now;
    this.#insert = db.prepare(
      `INSERT INTO instances (correlation_id, flow_name, flow_version, flow, context, created_at, updated_at, updated_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.#get = db.prepare(
      `SELECT correlation_id, flow_name, flow_version, flow, context, created_at, updated_at
       FROM instances WHERE correlation_id = ?`,
    );
    this.#getContext = db.prepare('SELECT context FROM instances WHERE correlation_id = ?');
    this.#updateContext = db.prepare(
      'UPDATE instances SET context = ?, updated_at = ?, updated_ms = ? WHERE correlation_id = ?',
    );
    this.#insertStep = db.prepare(
      'INSERT INTO instance_steps (correlation_id, step_id) VALUES (?, ?) ON CONFLICT DO NOTHING',
    );
    // rowid follows insertion, and steps are never deleted one by one: this is the order they fired in.
    this.#steps = db.prepare('SELECT step_id FROM instance_steps WHERE correlation_id = ? ORDER BY rowid');
    // No execution left means none pending either: retention never deletes a pending one.
    this.#deleteAbandoned = db.prepare(
      `DELETE FROM instances WHERE rowid IN (
         SELECT rowid FROM instances
         WHERE updated_ms < ?
           AND NOT EXISTS (SELECT 1 FROM executions WHERE executions.correlation_id = instances.correlation_id)
         LIMIT ?)`,
    );
  }

  exists(correlationId: string): boolean {
    return this.#getContext.get(correlationId) !== undefined;
  }

  /** Fails when an instance with this correlation id exists already. */
  create(instance: NewInstance): void {
    const now = this.#now();
    const at = now.toISOString();
    inTransaction(this.#db, () => {
      if (this.#getContext.get(instance.correlationId) !== undefined) {
        throw new Error(`Flow instance ${instance.correlationId} exists already`);
      }
      this.#insert.run(
        instance.correlationId,
        instance.flowName,
        instance.flowVersion,
        toJson(instance.flow, 'the flow'),
        toJson(instance.context, 'the context'),
        at,
        at,
        now.getTime(),
      );
      for (const stepId of instance.stepsDone) this.#insertStep.run(instance.correlationId, stepId);
    });
  }

  get(correlationId: string): Instance | undefined {
    return inReadTransaction(this.#db, () => {
      const row = this.#get.get(correlationId);
      if (row === undefined) return undefined;
      return {
        correlationId: text(row, 'correlation_id'),
        flowName: text(row, 'flow_name'),
        flowVersion: text(row, 'flow_version'),
        flow: json<Flow>(row, 'flow'),
        context: json<Record<string, unknown>>(row, 'context'),
        stepsDone: this.#steps.all(correlationId).map((step: Row) => text(step, 'step_id')),
        createdAt: text(row, 'created_at'),
        updatedAt: text(row, 'updated_at'),
      };
    });
  }

  /**
   * Records that the step fired and merges `context` over the instance's (key by key, as Flyte
   * merges a step's context over its parent's); false, changing nothing, if it had fired already.
   * Fails when there is no such instance.
   */
  claimStep(correlationId: string, stepId: string, context: Record<string, unknown>): boolean {
    const now = this.#now();
    return inTransaction(this.#db, () => {
      const row = this.#getContext.get(correlationId);
      if (row === undefined) throw new Error(`No flow instance ${correlationId} to fire step ${stepId} in`);
      if (changes(this.#insertStep.run(correlationId, stepId)) === 0) return false;
      const merged = { ...json<Record<string, unknown>>(row, 'context'), ...context };
      this.#updateContext.run(toJson(merged, 'the context'), now.toISOString(), now.getTime(), correlationId);
      return true;
    });
  }

  /**
   * Deletes at most `limit` instances untouched since `cutoffMs` that have no execution left (their
   * fired steps go with them); returns how many.
   */
  deleteAbandoned(cutoffMs: number, limit: number): number {
    return changes(this.#deleteAbandoned.run(cutoffMs, limit));
  }
}
