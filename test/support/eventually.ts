import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Tries `check` until it stops throwing, and resolves with what it returned; past `timeoutMs`, throws what
 * it threw last. For what a test can only observe a moment later (a message crossing the bus).
 */
export async function eventually<T>(check: () => Promise<T> | T, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(20);
    }
  }
}

/** Reads until `read` gives something other than undefined; past `timeoutMs`, fails naming `what`. */
export async function whenDefined<T>(
  read: () => Promise<T | undefined> | T | undefined,
  what: string,
  timeoutMs = 5000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}
