/**
 * A real nats-server per test file, started from the repo's nats.conf on a free
 * port with its own store and fresh passwords. No mocks of NATS anywhere.
 */
import { fileURLToPath } from 'node:url';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectBus, DOOR_KEY_VAR, ensureStreams, generateCredentials, NatsCluster, NatsServerProcess, type Role, type StreamOptions } from '../../src/bus/index.ts';

export const NATS_CONF = fileURLToPath(new URL('../../nats.conf', import.meta.url));
export const NATS_CLUSTER_CONF = fileURLToPath(new URL('../../nats-cluster.conf', import.meta.url));

export interface TestCluster {
  cluster: NatsCluster;
  /** Every node, comma-separated. */
  url: string;
  env: Record<string, string>;
  connect(role: Role): Promise<NatsConnection>;
  stop(): Promise<void>;
}

/** A 3-node JetStream cluster from the repo's nats-cluster.conf, on free ports, with fresh passwords. */
export async function startNatsCluster(): Promise<TestCluster> {
  const env = generateCredentials();
  const cluster = await NatsCluster.start({ configFile: NATS_CLUSTER_CONF, env });
  const conns: NatsConnection[] = [];
  return {
    cluster, url: cluster.url, env,
    async connect(role) {
      const nc = await connectBus({ url: cluster.url, role, env });
      conns.push(nc);
      return nc;
    },
    async stop() {
      await Promise.allSettled(conns.map((c) => c.close()));
      await cluster.stop({ kill: true });
    },
  };
}

export interface TestNats {
  server: NatsServerProcess;
  url: string;
  env: Record<string, string>;
  connect(role: Role): Promise<NatsConnection>;
  /** A connection as role `gateway` and the door key: what a Gateway takes (`new Gateway({ ...await nats.gatewayBus(), keyDigests })`). */
  gatewayBus(): Promise<{ nc: NatsConnection; doorKey: string }>;
  /** Creates streams and consumers (as the router would). */
  setup(opts?: StreamOptions): Promise<void>;
  stop(): Promise<void>;
}

export async function startNats(): Promise<TestNats> {
  const env = generateCredentials();
  const server = await NatsServerProcess.start({ configFile: NATS_CONF, env });
  const conns: NatsConnection[] = [];
  const connect = async (role: Role) => {
    const nc = await connectBus({ url: server.url, role, env });
    conns.push(nc);
    return nc;
  };
  return {
    server,
    get url() { return server.url; },
    env,
    connect,
    async gatewayBus() {
      return { nc: await connect('gateway'), doorKey: env[DOOR_KEY_VAR]! };
    },
    async setup(opts) {
      const nc = await connect('router');
      await ensureStreams(nc, opts);
    },
    async stop() {
      await Promise.allSettled(conns.map((c) => c.close()));
      await server.stop({ clean: true });
    },
  };
}
