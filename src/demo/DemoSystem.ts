/**
 * The whole koubou system for `koubou up --demo`, with every tier's backend a
 * `koubou sim` server: a nats-server child process, then the ledger, a router
 * and one worker per tier, each on its own NATS connection with its own role's
 * credentials, exactly as separate processes would be. They run inside the
 * demo's process so that it is up in seconds (each `koubou` process spends
 * seconds loading TypeScript, and the demo must fit in half a minute).
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import { Ledger } from '../../actors/ledger/index.ts';
import { Router } from '../../actors/router/index.ts';
import { Worker } from '../../actors/worker/index.ts';
import { resolveBackend } from '../../actors/worker/backend.ts';
import { connectBus, DOOR_KEY_VAR, ensureStreams, NatsServerProcess, streamOptionsFrom, type Role } from '../bus/index.ts';
import type { KoubouConfig } from '../config/index.ts';
import type { Tier } from '../core/types.ts';

/** The demo runs the default config's three tiers, each on its own simulator. */
const DEMO_TIERS = ['gpt5_high', 'gpt5_medium', 'local'] as const;
type DemoTier = (typeof DEMO_TIERS)[number];
const isCloudTier = (tier: Tier): boolean => tier !== 'local';
import { openLedgerDb, type LedgerDb } from '../db/index.ts';
import { startSimServer, type SimOptions, type SimServer } from '../llm/sim/index.ts';
import { DEMO_HIGH_RPM } from './samples.ts';

export interface DemoSystemOptions {
  /** koubou's config; the demo replaces the ledger path, the budget and every tier's backend. */
  config: KoubouConfig;
  /** Where the demo keeps its NATS data, ledger and log: emptied at start. */
  stateDir: string;
  /** nats.conf to start nats-server with (or nats-tls.conf: then `natsTls`, and the CA in `credentials`). */
  natsConf: string;
  /** With nats-tls.conf: the project directory its certificate paths are relative to. See serverConfFile(). */
  natsTls?: { projectDir: string };
  /** Role passwords (from .koubou/credentials.env). */
  credentials: Record<string, string>;
  /** nats-server client port; -1 picks a free one. */
  port: number;
  /** Tasks in flight per worker. Default 4. */
  slots?: number;
  /** Where the actors' own log lines go. */
  log: (line: string) => void;
}

export interface DemoSystem {
  natsUrl: string;
  natsPid: number | undefined;
  ledgerPath: string;
  /** The config the actors run with (sim backends, the demo's budget and ledger). */
  config: KoubouConfig;
  sims: Record<DemoTier, SimServer>;
  /** Describes each tier's simulated backend, for the "where everything is" block. */
  simNotes: Record<DemoTier, string>;
  workerIds: string[];
  /** A further connection as `role` (the demo's client side), closed by `stop()`. */
  connect(role: Role): Promise<NatsConnection>;
  /** Workers, router, ledger, sims, then nats-server. Safe to call twice. */
  stop(): Promise<void>;
}

/** The demo's budget: fixed, so that the budget phase behaves the same whatever the user's config says. */
export const DEMO_BUDGET = { monthly_usd: 100, alert_threshold_percent: 80 } as const;

/** Pacing that looks like a model generating, yet keeps the whole demo within seconds. */
const SIM_OPTIONS: Record<DemoTier, SimOptions> = {
  gpt5_high: { latencyMs: 300, tokensPerSecond: 400, outputTokens: 60, rateLimit: { rpm: DEMO_HIGH_RPM } },
  gpt5_medium: { latencyMs: 200, tokensPerSecond: 500, outputTokens: 60 },
  local: { latencyMs: 100, tokensPerSecond: 600, outputTokens: 60 },
};

/**
 * Starts everything; on any failure, stops what had started and rethrows.
 *
 * @example
 * const demo = await startDemoSystem({ config, stateDir: '.koubou/demo', natsConf: 'nats.conf', credentials, port: -1, log });
 * console.log(demo.natsUrl, demo.sims.local.url);
 * await demo.stop();
 */
export async function startDemoSystem(options: DemoSystemOptions): Promise<DemoSystem> {
  const { stateDir, log } = options;
  // A fresh state each run: leftover rate-limit windows or budget holds would change what the demo shows.
  rmSync(stateDir, { recursive: true, force: true });
  mkdirSync(stateDir, { recursive: true });
  const ledgerPath = resolve(join(stateDir, 'koubou.db'));
  const stops: (() => Promise<unknown>)[] = [];
  const conns: NatsConnection[] = [];
  let stopped: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    // Reverse start order: workers first (they finish or hand back work), nats-server last.
    stopped ??= (async () => {
      for (const s of stops.reverse()) await s().catch((e: unknown) => log(`demo: stopping: ${(e as Error).message}`));
    })();
    return stopped;
  };

  try {
    const server = await NatsServerProcess.start({
      configFile: options.natsConf, env: options.credentials, port: options.port, httpPort: 0,
      ...(options.natsTls ? { cwd: options.natsTls.projectDir, tls: true } : {}),
      storeDir: join(stateDir, 'nats'), logFile: join(stateDir, 'nats-server.log'),
    });
    stops.push(() => server.stop({ clean: false }));
    // Runs after every actor has stopped, before the server goes.
    stops.push(() => Promise.allSettled(conns.map((c) => c.close())));
    const connect = async (role: Role): Promise<NatsConnection> => {
      const nc = await connectBus({ url: server.url, role, env: options.credentials, name: `koubou-demo-${role}` });
      conns.push(nc);
      return nc;
    };

    const sims = {} as Record<DemoTier, SimServer>;
    const simNotes = {} as Record<DemoTier, string>;
    let config: KoubouConfig = {
      ...options.config, ledger: { path: ledgerPath }, budget: { ...DEMO_BUDGET },
      // The routers charge each gpt5_high request prompt + 128k output tokens against the configured
      // TPM, which would stop the fourth request of a minute before the provider's own limit shows:
      // the demo is about the provider's limit (the sim's DEMO_HIGH_RPM requests a minute), so that one is left out.
      tiers: { ...options.config.tiers, gpt5_high: { ...options.config.tiers.gpt5_high, tpm: null } },
    };
    for (const tier of DEMO_TIERS) {
      const sim = await startSimServer(SIM_OPTIONS[tier]);
      sims[tier] = sim;
      stops.push(() => sim.close());
      // The same path as `koubou worker --tier T --sim URL`.
      config = (await resolveBackend(config, tier, { sim: sim.url })).config;
      const rpm = SIM_OPTIONS[tier].rateLimit?.rpm;
      simNotes[tier] = `${sim.url} (${isCloudTier(tier) ? 'OpenAI' : 'Ollama'} protocol${rpm ? `, ${rpm} requests/min` : ''})`;
    }

    await ensureStreams(await connect('router'), streamOptionsFrom(config));
    const db: LedgerDb = openLedgerDb(ledgerPath);
    stops.push(async () => db.close());
    const ledger = new Ledger({ nc: await connect('ledger'), db, config, log });
    await ledger.start();
    stops.push(() => ledger.stop());
    const router = new Router({ nc: await connect('router'), config, routerId: 'router-demo', doorKey: options.credentials[DOOR_KEY_VAR], log });
    await router.start();
    stops.push(() => router.stop());

    const workerIds: string[] = [];
    for (const tier of DEMO_TIERS) {
      const backend = await resolveBackend(config, tier, { sim: sims[tier].url });
      const worker = new Worker({
        nc: await connect(isCloudTier(tier) ? 'cloud_worker' : 'local_worker'), tier, workerId: `${tier}-demo`,
        provider: backend.provider, config: backend.config, endpoint: backend.endpoint, location: backend.location,
        maxConcurrent: options.slots ?? 4, log,
      });
      await worker.start();
      workerIds.push(worker.workerId);
      stops.push(() => worker.stop({ timeoutMs: 5000 }));
    }
    return { natsUrl: server.url, natsPid: server.pid, ledgerPath, config, sims, simNotes, workerIds, connect, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
