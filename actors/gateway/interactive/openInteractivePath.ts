import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { BUCKETS } from '../../../src/bus/index.ts';
import { isCloudTier, tierNames, type KoubouConfig } from '../../../src/config/index.ts';
import type { Tier } from '../../../src/core/types.ts';
import { natsRoutingServices, RateLimitStore, TaskStore } from '../../router/index.ts';
import { resolveBackend, type BackendFlags } from '../../worker/backend.ts';
import type { DirectBackend } from './DirectCalls.ts';
import { BudgetSlices, type BudgetSlicesOptions } from '../BudgetSlices.ts';
import { natsSliceLedger } from '../natsSliceLedger.ts';
import { InteractivePath } from './InteractivePath.ts';
import { sliceBudget } from './sliceBudget.ts';

export interface OpenInteractivePathOptions {
  /** A connection as role `gateway`. */
  nc: NatsConnection;
  config: KoubouConfig;
  /** The door key: an agent work item handed to the routers carries its parent token under it. */
  doorKey: string;
  /**
   * A cloud tier's backend as a worker's command line would override it (`--sim URL`, or
   * `--sim-latency 0` where `koubou up` simulates a tier without a key). Default: the config's.
   */
  backendFlags?: Partial<Record<Tier, BackendFlags>>;
  /** The budget slices' options (their size, their lease). Defaults: BudgetSlices'. */
  slices?: Omit<BudgetSlicesOptions, 'ledger' | 'holder'>;
  /** Names the gateway in its calls' execution records. */
  workerId: string;
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
}

/**
 * The interactive path of a gateway process, with a backend for every cloud tier that has one
 * here (its API key, or simulated): those tiers' calls are made from the gateway; a tier without
 * one goes to its queue, and the notes say why. Paid calls are reserved from budget slices the
 * ledger leases to this gateway (named by `workerId`).
 *
 * @example
 * const { path, notes } = await openInteractivePath({ nc, config, doorKey, workerId: 'gateway-1' });
 * notes; // ['gpt5_high: called from here (gpt5_high (gpt-5): openai at https://api.openai.com/v1)', ...]
 */
export async function openInteractivePath(options: OpenInteractivePathOptions): Promise<{ path: InteractivePath; notes: string[] }> {
  const { nc, config } = options;
  const js = jetstream(nc);
  const kvm = new Kvm(js);
  // Made by the routers; read by stored message, as the gateway's permissions allow.
  const store = new TaskStore(await kvm.open(BUCKETS.tasks, { allow_direct: false }));
  const rateLimits = new RateLimitStore(await kvm.open(BUCKETS.rateLimits, { allow_direct: false }), config);
  const services = natsRoutingServices({ nc, js, config, rateLimits, doorKey: options.doorKey });
  const backends = new Map<Tier, DirectBackend>();
  const notes: string[] = [];
  for (const tier of tierNames(config).filter((t) => isCloudTier(config, t))) {
    try {
      const backend = await resolveBackend(config, tier, options.backendFlags?.[tier] ?? {}, options.env ?? process.env);
      backends.set(tier, { provider: backend.provider, tierConfig: backend.tierConfig });
      notes.push(`${tier}: called from here (${backend.description})`);
    } catch (e) {
      notes.push(`${tier}: through its queue (${(e as Error).message})`);
    }
  }
  // Paid calls are reserved from slices of the month the ledger leases to this gateway.
  const holder = options.workerId.replace(/[^A-Za-z0-9_.:-]/g, '_').slice(0, 128);
  const slices = new BudgetSlices({ ...options.slices, ledger: natsSliceLedger(nc), holder, ...(options.log ? { log: options.log } : {}) });
  const path = new InteractivePath({
    nc, js, config, services, store, rateLimits, backends, workerId: options.workerId, budget: sliceBudget(slices),
    ...(options.log ? { log: options.log } : {}),
  });
  return { path, notes };
}
