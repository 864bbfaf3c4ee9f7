import { setTimeout as sleep } from 'node:timers/promises';
import type { Bus } from '../../shared/bus/bus.ts';
import { CodedError, transientError } from '../../shared/errors.ts';
import { Metrics } from '../../shared/observability/metrics.ts';
import { defineCommand, definePack, type PackDefinition } from '../../shared/runtime/pack-definition.ts';
import { PackRuntime, type PackRuntimeOptions } from '../../shared/runtime/pack-runtime.ts';
import { testLogger } from './bus.ts';

/** The outside system the test pack "talks to": it records every side effect the pack performs. */
export class FakeOutsideSystem {
  readonly posts: Array<{ channelId: string; message: string; commandId: string }> = [];
  /** Attempts per command id, for the flaky command. */
  readonly attempts = new Map<string, number>();
  /** When each attempt happened, per command id. */
  readonly attemptTimes = new Map<string, number[]>();
}

/**
 * A small pack shaped like the chat packs, whose commands exercise what the runtime promises:
 * Post (a side effect), Flaky (429 with Retry-After, then success), Slow (takes its time), Broken
 * (a permanent failure) and Crash (a handler bug).
 */
export function createTestPack(name: string, outside = new FakeOutsideSystem()): PackDefinition {
  return definePack({
    name,
    version: '0.0.1-test',
    description: 'test pack',
    events: { Observed: { description: 'something the pack saw' } },
    commands: {
      Post: defineCommand<{ channelId: string; message: string }>({
        description: 'posts a message',
        inputSchema: {
          type: 'object',
          required: ['channelId', 'message'],
          properties: { channelId: { type: 'string', minLength: 1 }, message: { type: 'string' } },
          additionalProperties: false,
        },
        success: 'Posted',
        failure: 'PostFailed',
        handler: async (input, { command }) => {
          outside.posts.push({ ...input, commandId: command.id });
          return { ...input, timestamp: String(outside.posts.length) };
        },
      }),
      Flaky: defineCommand<{ failures: number; retryAfterSeconds?: number }>({
        description: 'fails `failures` times with a 429, then succeeds',
        inputSchema: {
          type: 'object',
          required: ['failures'],
          properties: { failures: { type: 'integer', minimum: 0 }, retryAfterSeconds: { type: 'number' } },
        },
        success: 'FlakySucceeded',
        failure: 'FlakyFailed',
        handler: async (input, { command }) => {
          const attempt = (outside.attempts.get(command.id) ?? 0) + 1;
          outside.attempts.set(command.id, attempt);
          outside.attemptTimes.set(command.id, [...(outside.attemptTimes.get(command.id) ?? []), Date.now()]);
          if (attempt <= input.failures) {
            throw transientError('HTTP 429 Too Many Requests', {
              code: 'rate_limited',
              retryAfterMs: (input.retryAfterSeconds ?? 0) * 1000,
            });
          }
          return { attempts: attempt };
        },
      }),
      Slow: defineCommand<{ ms: number }>({
        description: 'takes `ms` milliseconds (ignoring its abort signal, like a careless handler)',
        inputSchema: {
          type: 'object',
          required: ['ms'],
          properties: { ms: { type: 'integer', minimum: 0 } },
        },
        success: 'SlowDone',
        failure: 'SlowFailed',
        handler: async (input, { command, redelivered }) => {
          await sleep(input.ms);
          outside.posts.push({ channelId: 'slow', message: String(input.ms), commandId: command.id });
          return { ms: input.ms, redelivered };
        },
      }),
      Broken: defineCommand({
        description: 'fails for good',
        inputSchema: { type: 'object' },
        success: 'BrokenSucceeded',
        failure: 'BrokenFailed',
        handler: async () => {
          throw new CodedError('not_found', 'channel C404 does not exist');
        },
      }),
      Crash: defineCommand({
        description: 'has a bug',
        inputSchema: { type: 'object' },
        success: 'CrashSucceeded',
        failure: 'CrashFailed',
        handler: async () => {
          throw new TypeError("Cannot read properties of undefined (reading 'id')");
        },
      }),
    },
  });
}

/** Starts `pack` on `bus` with settings fit for tests (no retries, short limits); override any. */
export function startPackRuntime(
  bus: Bus,
  pack: PackDefinition,
  overrides: Partial<PackRuntimeOptions> = {},
): Promise<PackRuntime> {
  return PackRuntime.start({
    pack,
    bus,
    labels: {},
    logger: testLogger,
    metrics: new Metrics(),
    prefetch: 10,
    commandTimeoutMs: 5000,
    retry: { maxRetries: 0, minDelayMs: 10, maxDelayMs: 10 },
    ...overrides,
  });
}

/** Starts the test pack on `bus` with the settings of startPackRuntime; override any. */
export function startTestPack(
  bus: Bus,
  options: Partial<PackRuntimeOptions> & { name: string; outside?: FakeOutsideSystem },
): Promise<PackRuntime> {
  const { name, outside, ...overrides } = options;
  return startPackRuntime(bus, createTestPack(name, outside), overrides);
}
