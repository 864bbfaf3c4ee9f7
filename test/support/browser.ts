// Browser tests drive Debian's chromium with playwright-core: no browser is downloaded (never run
// `npx playwright install`), so they work on a closed network and in CI (.ci/run installs chromium).
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { installDebianPackage } from './debian-packages.ts';

export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Where tests write screenshots; Git ignores it. */
export const SCREENSHOT_DIR = resolve(import.meta.dirname, '../../test-output/screenshots');

// Everything that would reach out to the network on its own is off: this machine's network is closed,
// and a test must not wait on an update check. --no-sandbox: the tests may run as root (CI, containers).
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const INSTALL_HINT =
  'The browser tests drive the system chromium: install the Debian package `chromium` ' +
  '(sudo apt-get install --no-install-recommends chromium), or run the tests as root to have it installed.';

export interface TestPage {
  readonly page: Page;
  /** Console errors and uncaught exceptions of the page, in order; a test asserts this is empty. */
  readonly errors: string[];
  /** Writes test-output/screenshots/<name>.png and resolves with its path. */
  screenshot(name: string): Promise<string>;
}

export interface TestBrowser {
  newPage(options?: { extraHTTPHeaders?: Record<string, string> }): Promise<TestPage>;
  /** Closes chromium and deletes its profile. Idempotent. */
  close(): Promise<void>;
}

/** Installs chromium when it is missing and we are root; otherwise fails naming the package. */
export async function ensureChromiumInstalled(log: (line: string) => void = console.error): Promise<void> {
  if (existsSync(CHROMIUM_PATH)) return;
  await installDebianPackage('chromium', log, INSTALL_HINT);
  if (!existsSync(CHROMIUM_PATH))
    throw new Error(`apt-get installed chromium but ${CHROMIUM_PATH} is missing`);
}

/** Launches headless chromium with a fresh profile of its own. */
export async function launchBrowser(): Promise<TestBrowser> {
  await ensureChromiumInstalled();
  const profile = mkdtempSync(join(tmpdir(), 'sbtest-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1280, height: 800 },
    });
  } catch (error) {
    rmSync(profile, { recursive: true, force: true });
    throw error;
  }
  let closing: Promise<void> | undefined;
  return {
    async newPage(options = {}) {
      const page = await context.newPage();
      if (options.extraHTTPHeaders) await page.setExtraHTTPHeaders(options.extraHTTPHeaders);
      const errors: string[] = [];
      page.on('console', (message) => {
        if (message.type() === 'error') errors.push(`console: ${message.text()} (${message.location().url})`);
      });
      page.on('pageerror', (error) => errors.push(`uncaught: ${error.message}`));
      page.on('requestfailed', (request) => {
        // EventSource.close() (a page changing its stream's filters) shows as an aborted request.
        if (request.resourceType() === 'eventsource' && request.failure()?.errorText === 'net::ERR_ABORTED')
          return;
        errors.push(`request failed: ${request.url()} (${request.failure()?.errorText ?? 'unknown'})`);
      });
      return {
        page,
        errors,
        async screenshot(name) {
          mkdirSync(SCREENSHOT_DIR, { recursive: true });
          const path = join(SCREENSHOT_DIR, `${name}.png`);
          await page.screenshot({ path, fullPage: true });
          return path;
        },
      };
    },
    close() {
      closing ??= context.close().finally(() => rmSync(profile, { recursive: true, force: true }));
      return closing;
    },
  };
}
