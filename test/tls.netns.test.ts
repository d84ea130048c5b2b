/**
 * What a listener on the LAN sees: a master host (nats-server, router, ledger) and a LAN worker
 * on a host of its own (network namespaces), tcpdump on the LAN host's link while a confidential
 * task runs there. With TLS (nats-tls.conf, the worker given only the CA and its role's
 * password, --nats tls://MASTER:4222) neither the prompt nor its secret is in any TCP payload;
 * with the same run on nats.conf, both are: the capture does see the task, so the test can fail.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { generateCredentials, NatsServerProcess } from '../src/bus/index.ts';
import { openLedgerDb } from '../src/db/index.ts';
import { runKoubou } from './support/cli.ts';
import { NATS_CONF } from './support/nats.ts';
import { NetnsLab } from './support/netns.ts';
import { readPcapPayloads } from './support/pcap.ts';
import { ActorProcess } from './support/processes.ts';
import { startTlsNats, tlsProject } from './support/tlsProject.ts';

const tcpdump = spawnSync('tcpdump', ['--version'], { stdio: 'ignore' }).status === 0;
const why = NetnsLab.unavailable() ?? (tcpdump ? null : 'tcpdump is not installed (apt-get install -y tcpdump; scripts/test does)');
if (why) console.warn(`tls.netns.test: NOT RUN: ${why}`);

// Generated per run from a fixed seed: text no real prompt holds, and a secret that is no real credential.
const seed = createHash('sha256').update('koubou tls capture').digest('hex');
const MARK = `marker-${seed.slice(0, 12)}`;
const SECRET = `Kb${seed.slice(12, 28)}`;
const PROMPT = `design the cache layer for ${MARK}; the production db password = "${SECRET}"`;

interface Capture { flows: Map<string, Buffer>; packets: number; final: Record<string, unknown>; sensitivity: string | undefined }

/** The sensitivity the ledger recorded for a task, once it has the task's final state. */
async function recordedSensitivity(dbPath: string, taskId: string): Promise<string | undefined> {
  for (let i = 0; i < 100; i++) {
    const db = openLedgerDb(dbPath, { readonly: true });
    try {
      const row = db.prepare('SELECT sensitivity_level AS level, status FROM task_master WHERE task_id = ?').get(taskId) as { level: string; status: string } | undefined;
      if (row?.status === 'completed') return row.level;
    } finally {
      db.close();
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return undefined;
}

/**
 * Waits until the capture file stops growing (no new packet for 400 ms, at most 10 s): libpcap
 * (TPACKET_V3) hands packets over in blocks, and a tcpdump stopped right after the task ends can
 * drop the block that holds them; --immediate-mode and this wait keep the whole task in the file.
 */
async function settled(file: string): Promise<void> {
  let last = -1;
  for (let i = 0; i < 50; i++) {
    const size = statSync(file, { throwIfNoEntry: false })?.size ?? 0;
    if (size === last) return;
    last = size;
    await new Promise((r) => setTimeout(r, 400));
  }
}

describe.skipIf(why !== null)('a confidential task to a LAN worker, as a listener on the LAN sees it', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
  });

  /** One master, one LAN host; the bus with or without TLS; the capture of the LAN host's link while one task runs. */
  async function runCaptured(tls: boolean): Promise<Capture> {
    const lab = await NetnsLab.create(['master', 'lan1']);
    cleanups.push(() => lab.destroy());
    const dir = mkdtempSync(join(tmpdir(), 'koubou-tls-netns-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const master = lab.ip('master');
    const at = { port: 4222, prefix: lab.exec('master'), host: master };
    let env: Record<string, string>;
    let server: NatsServerProcess;
    if (tls) {
      // The certificate names the master's LAN address, as `koubou init --tls-host` would add it.
      ({ server, env } = await startTlsNats(tlsProject([`IP:${master}`]).dir, at));
    } else {
      env = generateCredentials();
      server = await NatsServerProcess.start({ configFile: NATS_CONF, env, ...at });
    }
    cleanups.push(() => server.stop({ clean: true }));
    expect(server.url).toBe(`${tls ? 'tls' : 'nats'}://${master}:4222`);
    env = { ...env, NATS_URL: server.url, KOUBOU_DB: join(dir, 'ledger.db') };
    const actor = async (host: string, name: string, args: string[], ready: RegExp) => {
      const a = await new ActorProcess(name, args, env, dir, lab.exec(host)).start(ready, 40_000);
      cleanups.push(() => a.kill9());
      return a;
    };
    await actor('master', 'ledger', ['ledger'], /ledger: writing/);
    await actor('master', 'router', ['router', '--id', 'router-1'], /routing submissions/);

    const pcap = join(dir, 'lan1.pcap');
    const [cmd, ...rest] = [...lab.exec('lan1'), 'tcpdump', '-i', 'eth0', '--immediate-mode', '-U', '-n', '-s', '0', '-w', pcap, 'tcp port 4222'];
    const dump = spawn(cmd!, rest, { stdio: ['ignore', 'ignore', 'pipe'] });
    const dumpExited = new Promise((r) => dump.once('exit', r));
    cleanups.push(async () => { dump.kill('SIGKILL'); await dumpExited; });
    await new Promise<void>((resolve, reject) => {
      let err = '';
      dump.stderr!.on('data', (d: Buffer) => { err += d; if (/listening on/.test(err)) resolve(); });
      dump.once('exit', (code) => reject(new Error(`tcpdump exited (${code}): ${err}`)));
    });

    // The LAN worker's documented command line; with TLS it holds the CA's path and its role's password only.
    const workerEnv = { KOUBOU_NATS_LOCAL_WORKER_PASSWORD: env.KOUBOU_NATS_LOCAL_WORKER_PASSWORD!, ...(tls ? { KOUBOU_NATS_TLS_CA: env.KOUBOU_NATS_TLS_CA! } : {}) };
    const worker = await new ActorProcess('lan1', ['worker', '--tier', 'local', '--sim-latency', '50', '--location', 'remote', '--id', 'lan1-worker', '--nats', server.url],
      workerEnv, dir, lab.exec('lan1')).start(/pulling from/, 40_000);
    cleanups.push(() => worker.kill9());

    const r = await runKoubou(['submit', '--wait', '--json', PROMPT], { env, cwd: dir, prefix: lab.exec('master'), timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    await settled(pcap);
    dump.kill('SIGINT');
    await dumpExited;
    const final = JSON.parse(r.stdout);
    return { ...readPcapPayloads(pcap), final, sensitivity: await recordedSensitivity(env.KOUBOU_DB!, final.taskId) };
  }

  const seen = (c: Capture, text: string) => [...c.flows.values()].some((b) => b.includes(text));
  const bytes = (c: Capture) => [...c.flows.values()].reduce((n, b) => n + b.length, 0);

  it('without TLS (nats.conf): the prompt and its secret cross the LAN in cleartext', async () => {
    const c = await runCaptured(false);
    expect(c.final).toMatchObject({ status: 'completed', tier: 'local', result: { workerId: 'lan1-worker' } });
    expect(c.sensitivity).toBe('confidential');
    expect(seen(c, MARK)).toBe(true);
    expect(seen(c, SECRET)).toBe(true);
  }, 120_000);

  it('with TLS (nats-tls.conf): the same task runs on the LAN host and nothing of the prompt is on the link', async () => {
    const c = await runCaptured(true);
    expect(c.final).toMatchObject({ status: 'completed', tier: 'local', result: { workerId: 'lan1-worker' } });
    expect(c.sensitivity).toBe('confidential');
    // The capture saw the worker's whole session: its handshake and the task's bytes, encrypted.
    expect(bytes(c)).toBeGreaterThan(2000);
    expect([...c.flows.values()].some((b) => b.includes(Buffer.from([0x16, 0x03])))).toBe(true);
    expect(seen(c, MARK)).toBe(false);
    expect(seen(c, SECRET)).toBe(false);
    expect(seen(c, 'cache layer')).toBe(false);
    expect(seen(c, 'koubou.')).toBe(false);
  }, 120_000);
});
