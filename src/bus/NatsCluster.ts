import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager, StorageType } from '@nats-io/jetstream';
import { InputError, KoubouError } from '../core/errors.ts';
import { connectBus } from './connect.ts';
import { newPassword, ROUTE_PASSWORD_VAR } from './credentials.ts';
import { NatsServerProcess } from './NatsServerProcess.ts';

const PROBE_STREAM = 'KOUBOU_CLUSTER_PROBE';

export interface NatsClusterOptions {
  /** nats-cluster.conf (nats.conf plus the cluster block), or nats-cluster-tls.conf (and `cwd`, `tls`: see serverConfFile()). */
  configFile: string;
  /** The directory the nodes run in (nats-cluster-tls.conf's certificate paths are relative to it). */
  cwd?: string;
  /** The conf makes clients and routes use TLS: the nodes' URLs say tls://. */
  tls?: boolean;
  /** Role passwords (and the route password; one is made when missing); with TLS, KOUBOU_NATS_TLS_CA to verify the nodes by. */
  env: Record<string, string>;
  /** Nodes. Default 3: the smallest cluster that keeps 3 replicas through the loss of one node. */
  size?: number;
  /** Client port of each node; default: free ports. */
  ports?: number[];
  /** Node i keeps its store in `<storeDir>/n<i>`. Default: a temp directory, removed on `stop()`. */
  storeDir?: string;
  /** Node i logs to `<logDir>/nats-n<i>.log`. Default: discarded. */
  logDir?: string;
  /** How long `start()` waits for the nodes to elect a JetStream leader. Default 30 s. */
  readyTimeoutMs?: number;
  /**
   * Node i on a host of its own (tests' network namespaces): run under `prefix`, reached at
   * `address` on ports 4222 (clients) and 6222 (routes). Then `start()` does not wait for a
   * leader, as this process may not reach the hosts: the first actor's `ensureStreams` does.
   */
  hosts?: { prefix: string[]; address: string }[];
}

/**
 * A JetStream cluster of nats-server child processes on this machine: what `koubou up
 * --cluster 3` runs to try a cluster out, and what the tests kill nodes of. Each node has its
 * own store, client port and route port, and routes to every node.
 *
 * @example
 * const cluster = await NatsCluster.start({ configFile: 'nats-cluster.conf', env: creds });
 * process.env.NATS_URL = cluster.url; // nats://127.0.0.1:p1,nats://127.0.0.1:p2,nats://127.0.0.1:p3
 * await cluster.nodes[1].stop({ kill: true }); // lose a node
 */
export class NatsCluster {
  private constructor(
    readonly nodes: NatsServerProcess[],
    private readonly ownedStore: string | null,
    /** Node i's route port (where the other nodes connect to it). */
    readonly routePorts: number[] = [],
  ) {}

  /** Every node's client URL, comma-separated: what NATS_URL takes. */
  get url(): string {
    return this.nodes.map((n) => n.url).join(',');
  }

  static async start(options: NatsClusterOptions): Promise<NatsCluster> {
    const size = options.size ?? 3;
    if (!Number.isInteger(size) || size < 1) throw new InputError(`a cluster needs a whole number of nodes, got ${size}`);
    const ownedStore = options.storeDir ? null : mkdtempSync(join(tmpdir(), 'koubou-cluster-'));
    const storeDir = options.storeDir ?? ownedStore!;
    const routePassword = options.env[ROUTE_PASSWORD_VAR] ?? newPassword();
    const hosts = options.hosts;
    if (hosts && hosts.length !== size) throw new InputError(`${hosts.length} hosts for a ${size}-node cluster`);
    const routePorts = hosts ? hosts.map(() => 6222) : await freePorts(size);
    const address = (i: number) => hosts?.[i]!.address ?? '127.0.0.1';
    const routes = Object.fromEntries(routePorts.map((p, i) => [`KOUBOU_NATS_ROUTE_${i + 1}`, `nats-route://route:${routePassword}@${address(i)}:${p}`]));
    const nodes: NatsServerProcess[] = [];
    try {
      for (let i = 0; i < size; i++) {
        nodes.push(await NatsServerProcess.start({
          configFile: options.configFile,
          env: {
            ...options.env, ...routes, [ROUTE_PASSWORD_VAR]: routePassword,
            KOUBOU_NATS_SERVER_NAME: `n${i + 1}`, KOUBOU_NATS_CLUSTER_LISTEN: `${address(i)}:${routePorts[i]}`,
          },
          port: options.ports?.[i] ?? (hosts ? 4222 : -1),
          ...(hosts ? { prefix: hosts[i]!.prefix, host: hosts[i]!.address } : {}),
          storeDir: join(storeDir, `n${i + 1}`),
          ...(options.cwd ? { cwd: options.cwd } : {}), ...(options.tls ? { tls: true } : {}),
          ...(options.logDir ? { logFile: join(options.logDir, `nats-n${i + 1}.log`) } : {}),
        }));
      }
      const cluster = new NatsCluster(nodes, ownedStore, routePorts);
      if (!hosts) await cluster.waitForLeader(options.env, options.readyTimeoutMs ?? 30_000);
      return cluster;
    } catch (e) {
      await Promise.allSettled(nodes.map((n) => n.stop({ kill: true })));
      if (ownedStore) rmSync(ownedStore, { recursive: true, force: true });
      throw e;
    }
  }

  /**
   * Waits until the cluster can make a stream with a copy on every node: a leader is elected
   * and every route is up (a node answers account info before that).
   */
  async waitForLeader(env: Record<string, string>, timeoutMs: number): Promise<void> {
    const nc = await connectBus({ url: this.url, role: 'router', env });
    const deadline = Date.now() + timeoutMs;
    try {
      for (;;) {
        try {
          const jsm = await jetstreamManager(nc, { timeout: 2000 });
          await jsm.streams.add({ name: PROBE_STREAM, subjects: ['koubou.probe.cluster'], storage: StorageType.Memory, num_replicas: this.nodes.length });
          await jsm.streams.delete(PROBE_STREAM);
          return;
        } catch (e) {
          if (Date.now() > deadline) throw new KoubouError('NATS_SERVER_FAILED', `the ${this.nodes.length}-node cluster elected no JetStream leader within ${timeoutMs} ms: ${(e as Error).message}`);
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    } finally {
      await nc.close();
    }
  }

  /** Stops every node (SIGTERM, or SIGKILL with `kill`), and removes a store it made. */
  async stop(opts: { kill?: boolean } = {}): Promise<void> {
    await Promise.allSettled(this.nodes.map((n) => n.stop({ kill: opts.kill, clean: false })));
    if (this.ownedStore) rmSync(this.ownedStore, { recursive: true, force: true });
  }
}

/** Ports free right now on 127.0.0.1 (the OS picks them; a tiny window remains before use). */
async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: n }, () => new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => resolve(s));
  })));
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}
