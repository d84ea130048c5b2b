/**
 * A real headless Chromium for page tests: Debian's /usr/bin/chromium driven by playwright-core
 * (no browser download). When it is missing and the tests run as root, Debian's package is
 * installed; otherwise the setup fails with what to do. Page tests are never skipped.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/** Debian's Chromium (package `chromium`); playwright-core downloads no browser of its own. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Offline and quiet: no QUIC, no sync, no component updates, no background requests of its own. */
export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

/** Where page tests leave screenshots (gitignored). */
export const ARTIFACTS_DIR = resolve('test-artifacts');

/** Long enough for `apt-get update && apt-get install chromium` on a slow mirror. */
export const BROWSER_SETUP_TIMEOUT_MS = 15 * 60_000;

/**
 * Makes sure Chromium is installed: `apt-get install -y chromium` (after `apt-get update`) when
 * missing and running as root.
 * @throws Error saying how to install it, when missing and not root, or when the install fails.
 */
export function ensureChromium(): string {
  if (existsSync(CHROMIUM_PATH)) return CHROMIUM_PATH;
  const root = process.getuid?.() === 0;
  if (!root) {
    throw new Error(`${CHROMIUM_PATH} is missing and the tests are not running as root, so it cannot be installed here: ` +
      'run `sudo apt-get update && sudo apt-get install -y chromium` (or ./scripts/test as root), then run the tests again');
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update'], ['install', '-y', '--no-install-recommends', 'chromium']]) {
    const r = spawnSync('apt-get', args, { stdio: 'inherit', env });
    if (r.status !== 0) throw new Error(`\`apt-get ${args.join(' ')}\` failed (exit ${r.status ?? r.signal}); install Chromium by hand: apt-get install -y chromium`);
  }
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`apt-get installed chromium but ${CHROMIUM_PATH} is still missing`);
  return CHROMIUM_PATH;
}

/** A launched browser with its own throw-away profile. */
export interface TestBrowser {
  context: BrowserContext;
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

/**
 * Launches Chromium with a fresh profile (its own --user-data-dir, removed on close).
 * @example const browser = await launchBrowser(); const page = await browser.newPage();
 */
export async function launchBrowser(): Promise<TestBrowser> {
  const executablePath = ensureChromium();
  const profile = mkdtempSync(join(tmpdir(), 'koubou-chromium-'));
  // Playwright passes the profile as --user-data-dir itself (it refuses it among `args`).
  const context = await chromium.launchPersistentContext(profile, {
    executablePath, headless: true, args: CHROMIUM_ARGS, viewport: { width: 1400, height: 1000 },
  });
  return {
    context,
    newPage: () => context.newPage(),
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Saves a full-page screenshot as test-artifacts/<name>.png; returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  const path = join(ARTIFACTS_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
