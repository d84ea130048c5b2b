/**
 * How many copies JetStream keeps of koubou's streams, KV buckets and object stores: 1 on a
 * single server, 3 on a cluster (RAFT keeps them through the loss of one node). Configured as
 * `nats.replicas` (`KOUBOU_NATS_REPLICAS`), or detected from the server the client is on.
 */
import type { JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';

/** `auto`, or a fixed count from 1 to 5. */
export type ReplicasSetting = 'auto' | number;

/**
 * The replica count to create with: the configured one, or for `auto` 1 on a lone server and 3
 * on a cluster (a node's INFO names its cluster). A cluster of fewer than 3 nodes cannot hold 3
 * copies: set `nats.replicas` to its size.
 *
 * @example replicasFor(nc, 'auto') // 3 when nc is connected to a node of a cluster
 */
export function replicasFor(nc: NatsConnection, setting: ReplicasSetting = 'auto'): number {
  if (setting !== 'auto') return setting;
  return nc.info?.cluster ? 3 : 1;
}

/** Words for the start-up line: "3 replicas (cluster koubou)". */
export function describeReplicas(nc: NatsConnection, replicas: number): string {
  const cluster = nc.info?.cluster;
  return `${replicas} replica${replicas === 1 ? '' : 's'}${cluster ? ` (cluster ${cluster})` : ''}`;
}

/**
 * Brings an existing stream (a KV bucket's or an object store's, which their libraries create
 * but never update) to `replicas` copies: a store made on one server gains its copies when the
 * system moves to a cluster.
 */
export async function ensureStreamReplicas(jsm: JetStreamManager, stream: string, replicas: number): Promise<void> {
  const info = await jsm.streams.info(stream);
  if ((info.config.num_replicas || 1) === replicas) return;
  await jsm.streams.update(stream, { ...info.config, num_replicas: replicas });
}
