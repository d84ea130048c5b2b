import { jetstreamManager, RetentionPolicy, StorageType, DiscardPolicy, AckPolicy, type JetStreamManager, type StreamConfig } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { KoubouError } from '../core/errors.ts';
import { workConsumers } from './lanes.ts';
import { replicasFor, type ReplicasSetting } from './replicas.ts';
import { retryTransient } from './transient.ts';
import { STREAMS, SUBJECTS } from './subjects.ts';

const SECOND_NS = 1_000_000_000;

export interface StreamOptions {
  /** How long a worker may go without acking or in-progress-acking before its work is redelivered. Default 30 s. */
  workAckWaitMs?: number;
  /** Window in which a re-published task id is dropped by the server. Default 2 min. */
  duplicateWindowMs?: number;
  /** How long events are kept. Default 7 days. */
  eventMaxAgeMs?: number;
  /** The config's cloud tiers, each of which gets a work queue consumer. Default: gpt5_high, gpt5_medium. */
  cloudTiers?: readonly string[];
  /** Copies of every stream (`nats.replicas`). Default `auto`: 1 on one server, 3 on a cluster. */
  replicas?: ReplicasSetting;
}

const ns = (ms: number) => Math.round(ms * 1_000_000);

/** Stream settings from config: every actor that ensures the streams must pass the same ones. */
export function streamOptionsFrom(config: {
  nats: { work_ack_wait_seconds: number; replicas?: ReplicasSetting };
  tiers: Record<string, { cloud: boolean }>;
  routing: { fallback_order: string[] };
}): StreamOptions {
  return {
    workAckWaitMs: config.nats.work_ack_wait_seconds * 1000,
    cloudTiers: config.routing.fallback_order.filter((t) => config.tiers[t]?.cloud),
    replicas: config.nats.replicas ?? 'auto',
  };
}

/** The streams koubou needs; a new one is created, an existing one updated to match. */
export function streamConfigs(opts: StreamOptions & { numReplicas?: number } = {}): (Partial<StreamConfig> & { name: string })[] {
  const duplicate_window = ns(opts.duplicateWindowMs ?? 120_000);
  const num_replicas = opts.numReplicas ?? 1;
  return ([
    { name: STREAMS.submit, subjects: [SUBJECTS.submit, SUBJECTS.doorSubmitAll], retention: RetentionPolicy.Workqueue, storage: StorageType.File, duplicate_window },
    { name: STREAMS.work, subjects: [SUBJECTS.workAll], retention: RetentionPolicy.Workqueue, storage: StorageType.File, duplicate_window },
    { name: STREAMS.reports, subjects: [SUBJECTS.reportAll, SUBJECTS.cancelAll], retention: RetentionPolicy.Workqueue, storage: StorageType.File, duplicate_window },
    {
      name: STREAMS.events,
      subjects: [SUBJECTS.taskEventAll, SUBJECTS.usage, SUBJECTS.execution, SUBJECTS.rateLimitAll, SUBJECTS.rejected],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      discard: DiscardPolicy.Old,
      max_age: ns(opts.eventMaxAgeMs ?? 7 * 24 * 3600 * 1000),
      duplicate_window,
    },
  ] as (Partial<StreamConfig> & { name: string })[]).map((c) => ({ ...c, num_replicas }));
}

/** Durable pull consumers: the routers share `router`/`router-reports`; work consumers are in lanes.ts. */
export const CONSUMERS = {
  submissions: 'router',
  reports: 'router-reports',
  ledger: 'ledger',
  rateLimits: 'router-ratelimits',
} as const;

/**
 * Creates or updates every stream and durable consumer, with `replicas` copies (durable
 * consumers take their stream's). Safe to call from every actor at start-up, concurrently.
 */
export async function ensureStreams(nc: NatsConnection, opts: StreamOptions = {}): Promise<JetStreamManager> {
  // Started with a cluster that is still electing its leader, or during an election: wait for it.
  const jsm = await retryTransient(() => jetstreamManager(nc));
  const replicas = replicasFor(nc, opts.replicas);
  for (const config of streamConfigs({ ...opts, numReplicas: replicas })) {
    await retryTransient(async () => {
      try {
        await jsm.streams.add(config);
      } catch (e) {
        // Already there (possibly with other settings): bring it in line.
        try {
          await jsm.streams.update(config.name, config);
        } catch {
          throw e;
        }
      }
    }).catch((e: Error) => {
      if (!/insufficient resources|no suitable peers/i.test(e.message)) throw e;
      throw new KoubouError('NATS_REPLICAS', `stream ${config.name} wants ${replicas} copies, which the cluster cannot place (${e.message}): `
        + 'set nats.replicas (KOUBOU_NATS_REPLICAS) to at most the number of nodes with JetStream', { cause: e });
    });
  }
  const ack_wait = ns(opts.workAckWaitMs ?? 30_000);
  const durable = (name: string, stream: string, filter?: string, extra: object = {}) =>
    upsertConsumer(jsm, stream, {
      durable_name: name,
      ack_policy: AckPolicy.Explicit,
      ...(filter ? { filter_subject: filter } : {}),
      max_deliver: -1,
      ...extra,
    });
  // A router handles a message in milliseconds; one that died holding some gives them back after this.
  await durable(CONSUMERS.submissions, STREAMS.submit, undefined, { ack_wait: 10 * SECOND_NS });
  await durable(CONSUMERS.reports, STREAMS.reports, undefined, { ack_wait: 10 * SECOND_NS });
  for (const c of workConsumers(opts.cloudTiers)) await durable(c.name, STREAMS.work, c.subject, { ack_wait });
  await durable(CONSUMERS.ledger, STREAMS.events, undefined, { ack_wait: 30 * SECOND_NS });
  return jsm;
}

async function upsertConsumer(jsm: JetStreamManager, stream: string, config: Parameters<JetStreamManager['consumers']['add']>[1]) {
  await retryTransient(async () => {
    try {
      await jsm.consumers.add(stream, config);
    } catch (e) {
      try {
        await jsm.consumers.update(stream, config.durable_name!, config);
      } catch {
        throw e;
      }
    }
  });
}
