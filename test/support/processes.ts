import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CLI = fileURLToPath(new URL('../../cli/switchboard.ts', import.meta.url));
export const TEST_PACK_PROCESS = fileURLToPath(new URL('./run-test-pack.ts', import.meta.url));

export interface Spawned {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves once stdout or stderr contains the text (or matches the pattern). */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<string>;
  exit: Promise<number | null>;
}

/** Starts a Node script with this Node (v24), collecting its output. */
export function spawnNode(script: string, args: string[], env: NodeJS.ProcessEnv = process.env): Spawned {
  const child = spawn(process.execPath, [script, ...args], {
    cwd: ROOT,
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const listeners: Array<() => void> = [];
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    for (const listener of listeners) listener();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    for (const listener of listeners) listener();
  });
  const exit = once(child, 'exit').then(([code]) => code as number | null);
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    exit,
    waitForOutput(pattern, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const match = `${stdout}\n${stderr}`.match(pattern);
          if (match) {
            clearTimeout(timer);
            resolve(match[0]);
          }
        };
        const timer = setTimeout(
          () =>
            reject(
              new Error(
                `no output matching ${pattern} within ${timeoutMs} ms.\nstdout: ${stdout}\nstderr: ${stderr}`,
              ),
            ),
          timeoutMs,
        );
        listeners.push(check);
        void exit.then(() => setTimeout(check, 10));
        check();
      });
    },
  };
}

/** Runs the CLI to completion. */
export async function runCli(args: string[], env: NodeJS.ProcessEnv = process.env, stdin?: string) {
  const spawned = spawnNode(CLI, args, env);
  spawned.child.stdin?.end(stdin ?? '');
  const code = await spawned.exit;
  return { code, stdout: spawned.stdout(), stderr: spawned.stderr() };
}
