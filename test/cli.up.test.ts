/**
 * Issue "Done when", as a person would do it: `koubou up` in one terminal,
 * `koubou submit --wait` and `koubou status --json` in another, then Ctrl-C.
 */
import { mkdtempSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runKoubou } from './support/cli.ts';
import { ActorProcess } from './support/processes.ts';

const cwd = mkdtempSync(join(tmpdir(), 'koubou-up-'));
let up: ActorProcess;
let dashboardPort: number;
let gatewayPort: number;
/** A key for the gateway `up` starts, made at run time. */
const GATEWAY_KEY = `kb-up-test-${process.pid}-${Date.now().toString(36)}`;

const freePort = () => new Promise<number>((resolve) => {
  const srv = createServer().listen(0, '127.0.0.1', () => { const { port } = srv.address() as AddressInfo; srv.close(() => resolve(port)); });
});

beforeAll(async () => {
  dashboardPort = await freePort();
  gatewayPort = await freePort();
  up = await new ActorProcess('up', ['up', '--port', '0', '--dashboard-port', String(dashboardPort), '--gateway-port', String(gatewayPort)],
    { KOUBOU_CONFIG: '', NATS_URL: '', KOUBOU_GATEWAY_KEYS: GATEWAY_KEY }, cwd)
    .start(/koubou is up:[\s\S]*worker-local\] worker .* pulling/, 60_000);
}, 90_000);
afterAll(async () => { await up?.kill9(); });

describe('koubou up', () => {
  it('prints where everything is', () => {
    expect(up.output).toMatch(/NATS\s+nats:\/\/127\.0\.0\.1:\d+ \(nats-server pid \d+/);
    expect(up.output).toMatch(/ledger\s+.*koubou\.db/);
    // No `koubou init` here: no certificates, and `up` says the bus is cleartext (test/cli.tls.test.ts: with them).
    expect(up.output).toMatch(/bus\s+NOT encrypted \(cleartext NATS: `koubou init` makes TLS certificates/);
    expect(up.output).toMatch(/workers\s+worker-gpt5_high, worker-gpt5_medium, worker-local/);
  });

  it('runs a task submitted from another process through router, worker and ledger', async () => {
    const r = await runKoubou(['submit', '--wait', 'fix a typo in the README'], { cwd, env: { NATS_URL: '' } });
    expect(r.stderr).toMatch(/ReceiveTask/);
    expect(r.stderr).toMatch(/completed\s+Completed/);
    expect(r.stdout).toMatch(/simulated/);
    expect(r.code).toBe(0);
    const json = await runKoubou(['submit', '--wait', '--json', 'refactor this module to use dependency injection'], { cwd, env: { NATS_URL: '' } });
    expect(JSON.parse(json.stdout)).toMatchObject({ status: 'completed', tier: 'gpt5_medium' });

    const status = await runKoubou(['status', '--json'], { cwd, env: { NATS_URL: '' } });
    expect(status.code).toBe(0);
    const s = JSON.parse(status.stdout);
    expect(s.tasksByStatus.completed).toBeGreaterThanOrEqual(2);
    expect(JSON.stringify(s.workers)).toMatch(/local-1/);

    // The dashboard it started serves the ledger's figures.
    let api: Response | null = null;
    for (let i = 0; i < 100 && !api?.ok; i++) {
      api = await fetch(`http://127.0.0.1:${dashboardPort}/api/status`).catch(() => null);
      if (!api?.ok) await new Promise((r) => setTimeout(r, 200));
    }
    expect(api?.ok).toBe(true);
    expect(JSON.stringify(await api!.json())).toMatch(/completed/);

    // The gateway it started submits through its front door (role gateway, sealed with the door key
    // from .koubou/credentials.env), and the router takes its task, key and all.
    const ask = () => fetch(`http://127.0.0.1:${gatewayPort}/v1/chat/completions`, {
      method: 'POST', headers: { authorization: `Bearer ${GATEWAY_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'koubou/gpt5_medium', messages: [{ role: 'user', content: 'fix a typo in the README' }] }),
    }).catch(() => null);
    let answer: Response | null = null;
    for (let i = 0; i < 100 && !answer; i++) {
      answer = await ask();
      if (!answer) await new Promise((r) => setTimeout(r, 200));
    }
    expect(answer?.status).toBe(200);
    expect(answer!.headers.get('x-koubou-tier')).toBe('gpt5_medium');
  }, 90_000);

  it('stops every child cleanly on SIGTERM', async () => {
    await up.stop();
    expect(up.output).toMatch(/stopping dashboard, workers, router, ledger, nats-server/);
    expect(up.output).toMatch(/koubou: stopped/);
  }, 60_000);
});
