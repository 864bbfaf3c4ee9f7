import { spawn } from 'node:child_process';
import { accessSync, constants, readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { createInterface } from 'node:readline';

type Log = (line: string) => void;

const APT_LISTS = '/var/lib/apt/lists';

/**
 * Installs a Debian package the tests need, when they run as root on a machine with apt-get (CI, fresh
 * containers); anywhere else throws, naming the package and `hint`. Logs apt-get's output line by line.
 */
export async function installDebianPackage(pkg: string, log: Log, hint: string): Promise<void> {
  const aptGet = findExecutable('apt-get');
  if (process.getuid?.() !== 0 || !aptGet) {
    throw new Error(`${pkg} is not installed. ${hint}`);
  }
  const install = () => runLogged(aptGet, ['install', '-y', '--no-install-recommends', pkg], log);
  // A fresh Debian image has no package lists, and old ones may name files the mirror no longer has:
  // update first when there are none, and once more when installing from the old ones fails.
  if (!hasPackageLists()) {
    log(`${pkg} not found; no apt package lists yet, running apt-get update`);
    await runLogged(aptGet, ['update'], log);
    log(`installing ${pkg} with apt-get`);
    await install();
    return;
  }
  log(`${pkg} not found; installing it with apt-get`);
  try {
    await install();
  } catch (error) {
    log(`${(error as Error).message}; running apt-get update and trying again`);
    await runLogged(aptGet, ['update'], log);
    await install();
  }
}

export function findExecutable(name: string): string | undefined {
  const dirs = (process.env.PATH ?? '').split(delimiter).filter(Boolean);
  return dirs.map((dir) => join(dir, name)).find((path) => isExecutable(path));
}

export function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function hasPackageLists(): boolean {
  try {
    return readdirSync(APT_LISTS).some(
      (file) => file.endsWith('_Packages') || file.endsWith('_Packages.lz4'),
    );
  } catch {
    return false;
  }
}

function runLogged(command: string, args: string[], log: Log): Promise<void> {
  const child = spawn(command, args, {
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const stream of [child.stdout, child.stderr]) createInterface({ input: stream }).on('line', log);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`${command} ${args.join(' ')} failed (${signal ?? `exit code ${code}`})`));
    });
  });
}
