/**
 * Lanes of the local tier's work queue. Local work is placed by the
 * `routing_policy` priority rules: the router puts each item on the lane of the
 * workers the rules prefer, and workers pull their own lane first, the shared
 * lane next, and the other kind's lane only while no worker of that kind has a
 * free slot. The cloud tiers have one queue each, no lanes.
 */
import type { Tier } from '../core/types.ts';
import { LANES, type Lane, type WorkerLocation } from './lane.ts';
import { SUBJECTS } from './subjects.ts';

export { LANES, type Lane, type WorkerLocation };

/**
 * The durable consumer of a tier (cloud) or of a local lane.
 *
 * @example
 * workConsumer('gpt5_high');      // 'gpt5_high'
 * workConsumer('local', 'remote'); // 'local_remote'
 */
export function workConsumer(tier: Tier, lane: Lane = 'any'): string {
  return tier === 'local' ? `local_${lane}` : tier;
}

/** The durable consumer of a tier's agent work, e.g. `gpt5_high_agent`. */
export const agentConsumer = (tier: Tier): string => `${tier}_agent`;

/** The default config's cloud tiers: a config with others passes its own (`cloudTiersOf`). */
export const DEFAULT_CLOUD_TIERS: readonly Tier[] = ['gpt5_high', 'gpt5_medium'];

/**
 * Every durable consumer on KOUBOU_WORK, with the subject it filters: one per cloud tier of
 * the config, and one per lane of the local tier.
 */
export function workConsumers(cloudTiers: readonly Tier[] = DEFAULT_CLOUD_TIERS): { tier: Tier; lane: Lane | null; name: string; subject: string }[] {
  return [
    ...cloudTiers.map((tier) => ({ tier, lane: null, name: workConsumer(tier), subject: SUBJECTS.work(tier) })),
    ...LANES.map((lane) => ({ tier: 'local' as const, lane, name: workConsumer('local', lane), subject: SUBJECTS.work('local', lane) })),
    // Agent work, apart: only workers that run an agent pull it, and their slots stay theirs.
    ...[...cloudTiers, 'local'].map((tier) => ({ tier, lane: null, name: agentConsumer(tier), subject: SUBJECTS.agentWork(tier) })),
  ];
}

/**
 * The lanes a local-tier worker pulls, most preferred first: its own kind's
 * lane, the shared lane, then the other kind's lane — the last one only while
 * no worker of that kind can take work (see `LaneEligibility`).
 *
 * @example
 * lanesFor('remote'); // ['remote', 'any', 'local']
 */
export function lanesFor(location: WorkerLocation): [own: Lane, shared: Lane, foreign: Lane] {
  return location === 'local' ? ['local', 'any', 'remote'] : ['remote', 'any', 'local'];
}
