/**
 * What one worker knows of the others, from their heartbeats: who is alive,
 * where its model server runs, whether it has a free slot, and how fast it
 * is. Pure bookkeeping (no NATS): the worker feeds it heartbeats.
 */
import type { Heartbeat } from '../bus/messages.ts';
import type { WorkerLocation } from '../bus/lanes.ts';

export interface WorkerRegistryOptions {
  /** Heartbeat period of the workers; one silent for 3× this is gone. Default 2000 ms. */
  heartbeatMs?: number;
}

/** A worker that can take work right now: alive, healthy, with a free slot. */
export interface AvailablePeer {
  workerId: string;
  location: WorkerLocation;
  performanceFactor: number;
  freeSlots: number;
}

/**
 * @example
 * const peers = new WorkerRegistry({ heartbeatMs: 2000 });
 * peers.observe(heartbeat);                // every koubou.evt.worker.<id>
 * peers.anyAvailable('remote', 'local_001'); // false when every LAN host is down or full
 */
export class WorkerRegistry {
  private readonly seen = new Map<string, { hb: Heartbeat; at: number }>();
  private readonly staleAfterMs: number;

  constructor(options: WorkerRegistryOptions = {}) {
    this.staleAfterMs = 3 * (options.heartbeatMs ?? 2000);
  }

  /** Records a heartbeat (an `offline` one removes the worker at once). */
  observe(hb: Heartbeat, now = Date.now()): void {
    if (hb.status === 'offline') this.seen.delete(hb.workerId);
    else this.seen.set(hb.workerId, { hb, at: now });
  }

  /**
   * Workers of the local tier at `location` that can take a task now: heard from
   * recently, not cooling down (`error`), with fewer tasks than slots.
   */
  available(location: WorkerLocation, exceptId?: string, now = Date.now()): AvailablePeer[] {
    const out: AvailablePeer[] = [];
    for (const [id, { hb, at }] of this.seen) {
      if (now - at > this.staleAfterMs) {
        this.seen.delete(id);
        continue;
      }
      if (id === exceptId || hb.tier !== 'local' || hb.location !== location) continue;
      if (hb.status !== 'idle' && hb.status !== 'busy') continue;
      const freeSlots = hb.maxConcurrent - hb.currentTasks.length;
      if (freeSlots > 0) out.push({ workerId: id, location, performanceFactor: hb.performanceFactor ?? 1, freeSlots });
    }
    return out;
  }

  anyAvailable(location: WorkerLocation, exceptId?: string, now = Date.now()): boolean {
    return this.available(location, exceptId, now).length > 0;
  }

  /** The highest performance factor among available workers of either kind (not `exceptId`), or null. */
  fastestAvailable(exceptId?: string, now = Date.now()): number | null {
    const all = [...this.available('local', exceptId, now), ...this.available('remote', exceptId, now)];
    return all.length ? Math.max(...all.map((p) => p.performanceFactor)) : null;
  }
}
