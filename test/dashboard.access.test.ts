/**
 * Dashboard access off loopback, over real HTTP against the whole system (real nats-server, real
 * SQLite ledger). The dashboards here listen on 0.0.0.0, every interface: that is "bound to
 * anything but loopback" with no host override, and the tests reach them through 127.0.0.1 (the
 * rule follows the listen address, not the caller's). Without a key, with a wrong one, with a
 * revoked one: 401 on every surface (the page, its files, /api/*, the SSE feed, /metrics); with a
 * live one, as a bearer header or as the cookie `?token=` leaves: 200. The key never reaches a log
 * line or an answer. With no key at all, `koubou dashboard --host 0.0.0.0` refuses to start.
 * Then a real Chromium gets in with the key.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Dashboard } from '../actors/dashboard/index.ts';
import { isLoopbackHost } from '../actors/dashboard/access.ts';
import { KoubouError } from '../src/core/errors.ts';
import { createDashboardKey, openLedgerDb, revokeDashboardKey } from '../src/db/index.ts';
import { BROWSER_SETUP_TIMEOUT_MS, launchBrowser, screenshot } from './support/browser.ts';
import { runKoubou } from './support/cli.ts';
import { startSystem, type TestSystem } from './support/system.ts';

let sys: TestSystem;
const logs: string[] = [];
const running: Dashboard[] = [];
/** Two dashboards on 0.0.0.0: one asks the ledger over NATS, one reads its SQLite file. */
const urls: Record<'nats' | 'sqlite', string> = { nats: '', sqlite: '' };
let key = '';

/** Every surface the dashboard serves; /events is the SSE feed. */
const SURFACES = ['/', '/app.js', '/api/status', '/api/tasks', '/api/statechart', '/events', '/metrics'];

async function dashboardOn(host: string, extra: { dbPath?: string } = {}): Promise<{ url: string }> {
  const dashboard = new Dashboard({
    nc: await sys.nats.connect('dashboard'), host, port: 0, log: (l) => logs.push(l),
    // A revoked key is refused on the next request, not after the default 30 s of trust.
    keyRecheckMs: 0,
    ...(extra.dbPath ? { dbPath: extra.dbPath, budget: { monthlyLimitUsd: 100, alertThresholdPercent: 80 } } : {}),
  });
  running.push(dashboard);
  return dashboard.start();
}

/** Status and headers of a GET; the SSE feed is cut once its headers are in. */
async function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; body: string }> {
  const abort = new AbortController();
  const r = await fetch(url, { headers, redirect: 'manual', signal: abort.signal });
  if (r.headers.get('content-type')?.startsWith('text/event-stream')) {
    abort.abort();
    return { status: r.status, headers: r.headers, body: '' };
  }
  return { status: r.status, headers: r.headers, body: await r.text() };
}

beforeAll(async () => {
  sys = await startSystem();
});

afterAll(async () => {
  await Promise.allSettled(running.map((d) => d.stop()));
  await sys?.stop();
});

describe('which addresses need a key', () => {
  it('loopback is 127.0.0.0/8, ::1 and localhost; every other address or name needs a key', () => {
    for (const h of ['127.0.0.1', '127.0.0.2', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1']) expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ['0.0.0.0', '::', '192.168.1.20', '10.0.0.1', 'myhost.lan', '::ffff:10.0.0.1', '128.0.0.1']) expect(isLoopbackHost(h), h).toBe(false);
  });
});

describe('a dashboard on 0.0.0.0', () => {
  it('refuses to start while no dashboard key exists, and says how to make one', async () => {
    const refused = await dashboardOn('0.0.0.0').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(KoubouError);
    expect((refused as KoubouError).code).toBe('DASHBOARD_KEY_REQUIRED');
    expect((refused as Error).message).toMatch(/listens on 0\.0\.0\.0, not loopback, and no dashboard key exists: make one with `koubou keys dashboard create NAME`/);
  });

  it('on loopback, needs no key (as before)', async () => {
    const { url } = await dashboardOn('127.0.0.1');
    expect((await get(`${url}api/status`)).status).toBe(200);
  });

  it('admits no request without a key, or with a wrong one, on any surface', async () => {
    key = createDashboardKey(sys.db, { name: 'ops' }).key;
    urls.nats = (await dashboardOn('0.0.0.0')).url;
    urls.sqlite = (await dashboardOn('0.0.0.0', { dbPath: sys.dbPath })).url;
    const wrong = `kd-${'A'.repeat(43)}`;
    for (const base of Object.values(urls)) {
      expect(new URL(base).hostname).toBe('127.0.0.1');
      for (const path of SURFACES) {
        const none = await get(`${base}${path.slice(1)}`);
        expect(none.status, `${path} without a key`).toBe(401);
        expect(none.body).toMatch(/needs a key/);
        for (const attempt of [{ authorization: `Bearer ${wrong}` }, { cookie: `koubou_dashboard_key=${wrong}` }] as Record<string, string>[]) {
          const r = await get(`${base}${path.slice(1)}`, attempt);
          expect(r.status, `${path} with a wrong key`).toBe(401);
          expect(r.body).toMatch(/not a live dashboard key/);
          expect(r.body).not.toContain(wrong);
        }
        expect((await get(`${base}${path.slice(1)}?token=${wrong}`)).status, `${path}?token= wrong`).toBe(401);
      }
    }
  });

  it('says so in the API\'s JSON with the bearer scheme, and gives a browser a form to type the key into', async () => {
    const api = await get(`${urls.nats}api/status`);
    expect(api.headers.get('www-authenticate')).toBe('Bearer realm="koubou dashboard"');
    expect(JSON.parse(api.body)).toEqual({ error: expect.stringMatching(/koubou keys dashboard create NAME/) });
    const page = await get(urls.nats, { accept: 'text/html,application/xhtml+xml' });
    expect(page.status).toBe(401);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.body).toMatch(/<form method="get" action="\/">[\s\S]*name="token"/);
  });

  it('admits the key as a bearer header on every surface (Prometheus\' bearer_token included)', async () => {
    for (const base of Object.values(urls)) {
      for (const path of SURFACES) {
        expect((await get(`${base}${path.slice(1)}`, { authorization: `Bearer ${key}` })).status, path).toBe(200);
      }
      const metrics = await get(`${base}metrics`, { authorization: `Bearer ${key}` });
      expect(metrics.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      expect(metrics.body).toMatch(/^koubou_/m);
    }
  });

  it('turns ?token= into an HttpOnly cookie and takes it out of the address; the cookie admits every surface', async () => {
    const r = await get(`${urls.nats}api/tasks?limit=5&token=${encodeURIComponent(key)}`);
    expect(r.status).toBe(303);
    expect(r.headers.get('location')).toBe('/api/tasks?limit=5');
    const cookie = r.headers.get('set-cookie')!;
    expect(cookie).toMatch(/^koubou_dashboard_key=[^;]+; HttpOnly; SameSite=Lax; Path=\//);
    const sent = cookie.split(';')[0]!;
    for (const path of SURFACES) expect((await get(`${urls.nats}${path.slice(1)}`, { cookie: sent })).status, path).toBe(200);
  });

  it('refuses a revoked key on every surface', async () => {
    const other = createDashboardKey(sys.db, { name: 'grafana' }).key;
    expect((await get(`${urls.nats}metrics`, { authorization: `Bearer ${other}` })).status).toBe(200);
    expect(revokeDashboardKey(sys.db, 'grafana')).toBe(true);
    for (const base of Object.values(urls)) {
      for (const path of SURFACES) {
        expect((await get(`${base}${path.slice(1)}`, { authorization: `Bearer ${other}` })).status, path).toBe(401);
        expect((await get(`${base}${path.slice(1)}`, { cookie: `koubou_dashboard_key=${other}` })).status, path).toBe(401);
      }
    }
    // The other key is untouched.
    expect((await get(`${urls.sqlite}api/status`, { authorization: `Bearer ${key}` })).status).toBe(200);
  });

  it('wrote no key to its log', () => {
    expect(logs.join('\n')).not.toContain(key);
    expect(logs.join('\n')).not.toMatch(/kd-/);
  });
});

describe('koubou keys dashboard and koubou dashboard --host 0.0.0.0', () => {
  it('refuses to start with no key, then makes, lists and revokes keys, printing each key once', async () => {
    const db = join(mkdtempSync(join(tmpdir(), 'koubou-dashkeys-')), 'ledger.db');
    openLedgerDb(db).close();
    const nats = ['--nats', sys.nats.url];
    const refused = await runKoubou(['dashboard', '--host', '0.0.0.0', '--port', '0', '--db', db, ...nats], { env: sys.nats.env });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/no dashboard key exists: make one with `koubou keys dashboard create NAME`/);

    const made = await runKoubou(['keys', 'dashboard', 'create', 'laptop', '--db', db]);
    expect(made.code).toBe(0);
    expect(made.stdout).toMatch(/^kd-[A-Za-z0-9_-]{43}\n$/);
    expect(made.stderr).toMatch(/only time it is shown/);
    const list = await runKoubou(['keys', 'dashboard', 'list', '--json', '--db', db]);
    expect(JSON.parse(list.stdout).keys).toEqual([expect.objectContaining({ name: 'laptop', revokedAt: null })]);
    expect(list.stdout).not.toContain(made.stdout.trim());
    expect((await runKoubou(['keys', 'dashboard', 'revoke', 'laptop', '--db', db])).code).toBe(0);
    const again = await runKoubou(['keys', 'dashboard', 'revoke', 'laptop', '--db', db]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/no live dashboard key named "laptop"/);
    // Revoked is as good as none: still no way in, so still no start.
    const stillRefused = await runKoubou(['dashboard', '--host', '0.0.0.0', '--port', '0', '--db', db, ...nats], { env: sys.nats.env });
    expect(stillRefused.code).toBe(2);
  }, 120_000);
});

describe('a browser at a dashboard on 0.0.0.0', () => {
  it('gets the key form without a key, and the live page with it, from the form or from ?token=', async () => {
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage();
      const refused = await page.goto(urls.nats);
      expect(refused!.status()).toBe(401);
      await page.fill('input[name=token]', key);
      await Promise.all([page.waitForURL(urls.nats), page.click('button[type=submit]')]);
      await page.waitForSelector('body[data-ready=true]');
      await page.waitForSelector('#conn.live');
      // The key is in no address the browser keeps, and the page's scripts cannot read it.
      expect(page.url()).toBe(urls.nats);
      expect(await page.evaluate(() => document.cookie)).toBe('');
      expect(await page.evaluate(async () => (await fetch('/api/status')).status)).toBe(200);
      await screenshot(page, 'dashboard-access');

      // Cookies are per host, not per port: clear them before the second dashboard.
      await browser.context.clearCookies();
      const second = await browser.newPage();
      expect((await second.goto(urls.sqlite))!.status()).toBe(401);
      await second.goto(`${urls.sqlite}?token=${encodeURIComponent(key)}#/costs`);
      await second.waitForSelector('body[data-ready=true]');
      expect(second.url()).toBe(`${urls.sqlite}#/costs`);
      await second.waitForSelector('#view-costs:not([hidden])');
    } finally {
      await browser.close();
    }
  }, BROWSER_SETUP_TIMEOUT_MS);
});
