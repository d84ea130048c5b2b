import type { Consumer, JsMsg } from '@nats-io/jetstream';
import type { WorkerLocation } from '../../src/bus/index.ts';
import type { WorkerRegistry } from '../../src/pool/index.ts';
import type { PullLane } from './LanePuller.ts';

/** Wait before pulling a less preferred lane after a slot frees, per rank: preferred lanes go first. */
export const LANE_STAGGER_MS = 20;

export interface PullLaneContext {
  workerId: string;
  location: WorkerLocation;
  /** The other workers, from their heartbeats. */
  peers: WorkerRegistry;
  /** This worker's performance factor now (it changes when the ledger measures it). */
  performanceFactor(): number;
  /** Config `pool.yield_to_faster_ms`. */
  yieldToFasterMs: number;
  /** When the worker started pulling, and its heartbeat period. */
  startedAt(): number;
  heartbeatMs: number;
}

/** A cloud tier, or consumers named by hand: every one alike, always eligible. */
export function plainLanes(names: readonly string[], consumers: readonly Consumer[]): PullLane[] {
  return consumers.map((consumer, i) => ({ name: names[i]!, consumer, eligible: () => true, delayMs: () => 0 }));
}

/**
 * The local tier's three lanes for one worker, with the placement rules: its own
 * kind's lane first; the shared lane next, where a slower worker lets an idle
 * faster one have a task (once); the other kind's lane only while no worker of
 * that kind is alive with a free slot, and not before a heartbeat period has
 * passed (a worker that just started has not heard the others yet).
 *
 * @param names   consumer names, own lane first (see `lanesFor`)
 */
export function localLanes(names: readonly string[], consumers: readonly Consumer[], ctx: PullLaneContext): PullLane[] {
  const foreign: WorkerLocation = ctx.location === 'local' ? 'remote' : 'local';
  return [
    { name: names[0]!, consumer: consumers[0]!, eligible: () => true, delayMs: () => 0 },
    {
      name: names[1]!, consumer: consumers[1]!, eligible: () => true, delayMs: () => LANE_STAGGER_MS,
      yieldMs: (msg: JsMsg) => {
        const mine = ctx.performanceFactor();
        const fastest = ctx.peers.fastestAvailable(ctx.workerId);
        if (msg.info.deliveryCount > 1 || fastest === null || fastest <= mine) return 0;
        return Math.round(ctx.yieldToFasterMs * (1 - mine / fastest));
      },
    },
    {
      name: names[2]!, consumer: consumers[2]!, delayMs: () => 2 * LANE_STAGGER_MS,
      eligible: () => Date.now() - ctx.startedAt() >= 1.5 * ctx.heartbeatMs && !ctx.peers.anyAvailable(foreign, ctx.workerId),
    },
  ];
}
