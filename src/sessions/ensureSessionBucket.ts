import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { BUCKETS, ensureStreamReplicas } from '../bus/index.ts';

/**
 * How long a session is remembered after its last write: a month. A conversation left longer
 * than that and resumed is judged afresh by what it still holds.
 */
export const SESSION_TTL_MS = 30 * 24 * 3600 * 1000;
/** A record is a few hundred bytes; anything bigger is a bug, refused by the server. */
export const SESSION_MAX_VALUE_BYTES = 4096;
/**
 * The bucket's bound on disk (a million sessions take a few hundred MB). When it is full the
 * server refuses new keys (KV's discard policy is `new`), and the gateway answers 503 rather than
 * forget a mark; expired sessions free room as they go.
 */
export const SESSION_MAX_BYTES = 1024 * 1024 * 1024;

/**
 * Creates the `koubou_sessions` bucket (router start-up, like the other buckets) with `replicas`
 * copies; harmless when it exists, and brings an existing one to `replicas`.
 *
 * @example await ensureSessionBucket(routerNc, replicasFor(routerNc, 'auto'));
 */
export async function ensureSessionBucket(nc: NatsConnection, replicas = 1): Promise<KV> {
  const kv = await new Kvm(jetstream(nc)).create(BUCKETS.sessions, {
    history: 1, replicas, ttl: SESSION_TTL_MS, maxValueSize: SESSION_MAX_VALUE_BYTES, max_bytes: SESSION_MAX_BYTES,
  });
  await ensureStreamReplicas(await jetstreamManager(nc), `KV_${BUCKETS.sessions}`, replicas);
  return kv;
}

/**
 * The bucket as a gateway sees it: bound without asking the server (the gateway's role may read
 * and write its keys, not manage streams). Reads go to the stream's leader, never to a replica
 * that may lag, so a mark just written by another gateway is seen.
 */
export function openSessionBucket(nc: NatsConnection): Promise<KV> {
  return new Kvm(jetstream(nc)).open(BUCKETS.sessions, { allow_direct: false });
}
