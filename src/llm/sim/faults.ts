/**
 * Which chat request gets which injected failure: first the queue, in order,
 * then a seeded share of the rest, so that a flaky run replays identically.
 */
import type { SimFault, SimInjectOptions } from './options.ts';

/**
 * @example
 * const plan = new FaultPlan({ queue: [{ status: 500 }], ratio: 0.1, fault: { cutStream: true }, seed: 42 });
 * plan.next(); // { status: 500 }
 * plan.next(); // { cutStream: true } one time in ten, else undefined
 */
export class FaultPlan {
  private queue: SimFault[] = [];
  private ratio = 0;
  private fault: SimFault | undefined;
  private random: () => number = mulberry32(1);

  constructor(inject?: SimInjectOptions | SimFault[]) {
    this.set(inject);
  }

  /** Replaces the plan (what `setOptions({ inject })` does). */
  set(inject: SimInjectOptions | SimFault[] | undefined): void {
    const o: SimInjectOptions = Array.isArray(inject) ? { queue: inject } : (inject ?? {});
    this.queue = [...(o.queue ?? [])];
    this.ratio = Math.min(1, Math.max(0, o.ratio ?? 0));
    this.fault = o.fault;
    this.random = mulberry32(o.seed ?? 1);
  }

  /** The fault for the next chat request, if any. */
  next(): SimFault | undefined {
    const queued = this.queue.shift();
    if (queued) return queued;
    if (this.fault && this.ratio > 0 && this.random() < this.ratio) return this.fault;
    return undefined;
  }

  get pending(): number {
    return this.queue.length;
  }
}

/** A small seeded PRNG (mulberry32): uniform in [0, 1). */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
