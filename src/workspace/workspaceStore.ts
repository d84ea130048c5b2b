/**
 * Workspaces on the bus, in JetStream's own Object Store, so a worker on a LAN host gets one
 * over NATS, never from a shared disk. Two buckets keep the hard rule on the bus itself:
 * submitters put workspaces in `koubou_ws`, which the router and local workers may read and
 * cloud workers may not; the router copies a workspace into `koubou_ws_cloud` only once it has
 * scanned it and sends its task to a cloud tier.
 */
import { Objm, type ObjectStore } from '@nats-io/obj';
import { jetstreamManager, StorageType } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { BUCKETS, ensureStreamReplicas } from '../bus/index.ts';

/** Workspaces and patches expire after a day: a task's worth, with room for retries. */
const TTL_NS = 24 * 60 * 60 * 1e9;

/** Creates both buckets (router start-up) with `replicas` copies; harmless when they exist. */
export async function ensureWorkspaceBuckets(nc: NatsConnection, replicas = 1): Promise<void> {
  const objm = new Objm(nc);
  const jsm = await jetstreamManager(nc);
  for (const name of [BUCKETS.workspaces, BUCKETS.cloudWorkspaces]) {
    await objm.create(name, { storage: StorageType.File, ttl: TTL_NS, replicas });
    await ensureStreamReplicas(jsm, `OBJ_${name}`, replicas);
  }
}

async function open(nc: NatsConnection, bucket: string): Promise<ObjectStore> {
  return new Objm(nc).open(bucket, false);
}

/** Puts a blob under `name`, replacing any earlier one. */
export async function putObject(nc: NatsConnection, bucket: string, name: string, data: Uint8Array): Promise<void> {
  const os = await open(nc, bucket);
  await os.putBlob({ name }, data);
}

/** The blob under `name`, or null when there is none. */
export async function getObject(nc: NatsConnection, bucket: string, name: string): Promise<Uint8Array | null> {
  const os = await open(nc, bucket);
  return os.getBlob(name);
}
