/**
 * TLS as a user meets it: `koubou init` in a fresh directory, `koubou up` there (its one line
 * about the bus), a command from the same directory, and `koubou worker --nats tls://…` from
 * another host's directory given only the CA: the right CA connects, another one fails with a
 * clear error and exit code 2.
 */
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runKoubou } from './support/cli.ts';
import { ActorProcess } from './support/processes.ts';
import { tlsProject } from './support/tlsProject.ts';

const cwd = mkdtempSync(join(tmpdir(), 'koubou-cli-tls-'));
const lanHost = mkdtempSync(join(tmpdir(), 'koubou-cli-tls-lan-'));
const ca = join(cwd, '.koubou', 'tls', 'ca.pem');
let up: ActorProcess | null = null;
let natsUrl = '';
let workerPassword = '';

beforeAll(async () => {
  const init = await runKoubou(['init', '--tls-host', 'gpu-box.lan', '--tls-host', '192.168.77.30'], { cwd, env: { NATS_URL: '' } });
  expect(init.code, init.stderr).toBe(0);
  expect(init.stdout).toMatch(/TLS: wrote the local CA \.koubou\/tls\/ca\.pem/);
  up = await new ActorProcess('up', ['up', '--port', '0', '--no-workers', '--dashboard-port', '0', '--gateway-port', '0'], { KOUBOU_CONFIG: '', NATS_URL: '' }, cwd)
    .start(/koubou is up:[\s\S]*ledger: writing/, 60_000);
  natsUrl = /NATS\s+(tls:\/\/127\.0\.0\.1:\d+)/.exec(up.output)?.[1] ?? '';
  workerPassword = /KOUBOU_NATS_LOCAL_WORKER_PASSWORD=(\S+)/.exec(readFileSync(join(cwd, '.koubou', 'credentials.env'), 'utf8'))![1]!;
}, 120_000);
afterAll(async () => { await up?.kill9(); });

describe('koubou init', () => {
  it('writes the CA and the server certificate, keys mode 600, with the LAN names asked for', () => {
    for (const key of ['ca.key', 'server.key']) expect(statSync(join(cwd, '.koubou', 'tls', key)).mode & 0o777).toBe(0o600);
    const san = new X509Certificate(readFileSync(join(cwd, '.koubou', 'tls', 'server.pem'))).subjectAltName;
    expect(san).toMatch(/DNS:gpu-box\.lan/);
    expect(san).toMatch(/IP Address:192\.168\.77\.30/);
    expect(san).toMatch(/IP Address:127\.0\.0\.1/);
  });

  it('refuses a --tls-host that is neither a name nor an address, naming it', async () => {
    const r = await runKoubou(['init', '--tls-host', 'not a host!'], { cwd: mkdtempSync(join(tmpdir(), 'koubou-cli-tls-bad-')) });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--tls-host: "not a host!" is neither an IP address nor a host name/);
  });
});

describe('koubou up after init', () => {
  it('runs the bus with TLS and says so in one line', () => {
    expect(natsUrl).toMatch(/^tls:\/\//);
    expect(up!.output).toMatch(/bus\s+encrypted \(TLS; every actor verifies the server with \S+\.koubou\/tls\/ca\.pem\)/);
  });

  it('its actors and the commands run in its directory speak TLS to it', async () => {
    const r = await runKoubou(['submit', 'fix a typo in the README'], { cwd, env: { NATS_URL: '' } });
    expect(r.code, r.stderr).toBe(0);
    const status = await runKoubou(['status', '--json'], { cwd, env: { NATS_URL: '' } });
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout).tasksByStatus).toBeDefined();
  }, 60_000);
});

describe('koubou worker --nats tls://… on another host', () => {
  const worker = (caFile: string) => new ActorProcess('lan-worker', ['worker', '--tier', 'local', '--sim-latency', '10', '--id', 'lan-tls-1', '--nats', natsUrl],
    { KOUBOU_NATS_LOCAL_WORKER_PASSWORD: workerPassword, KOUBOU_NATS_TLS_CA: caFile, KOUBOU_CONFIG: '' }, lanHost);

  it('given the master\'s CA: verifies the server and pulls work', async () => {
    const w = await worker(ca).start(/pulling from tls:\/\//, 40_000);
    await w.stop();
  }, 60_000);

  it('given another CA: exits 2 with an error that names the CA and what to do', async () => {
    const other = tlsProject().caCert;
    const r = await runKoubou(['worker', '--tier', 'local', '--sim-latency', '10', '--id', 'lan-tls-2', '--nats', natsUrl],
      { cwd: lanHost, env: { KOUBOU_NATS_LOCAL_WORKER_PASSWORD: workerPassword, KOUBOU_NATS_TLS_CA: other }, timeoutMs: 40_000 });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`could not be verified with the CA in ${other}`);
    expect(r.stderr).toMatch(/master's \.koubou\/tls\/ca\.pem as KOUBOU_NATS_TLS_CA/);
  }, 60_000);
});
