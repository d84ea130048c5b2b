import { randomUUID } from 'node:crypto';
import type { BudgetStateMessage, SliceLeaseReply, SliceLeaseRequest, SliceReturnReply, SliceReturnRequest } from '../../src/bus/index.ts';
import { KoubouError } from '../../src/core/errors.ts';
import { BUDGET_EPSILON_USD } from '../../src/policy/index.ts';

/** The ledger as BudgetSlices needs it: over NATS, `natsSliceLedger(nc)`; in tests, anything. */
export interface SliceLedger {
  lease(req: SliceLeaseRequest): Promise<SliceLeaseReply>;
  return(req: SliceReturnRequest): Promise<SliceReturnReply>;
}

export interface BudgetSlicesOptions {
  ledger: SliceLedger;
  /** This gateway process, as the ledger knows the holder of its slices (letters, digits, `_.:-`). */
  holder: string;
  /** The least a slice is asked for. Default $1. */
  sliceUsd?: number;
  /** A slice is asked for at least this many times the largest reservation seen. Default 50. */
  sliceReservations?: number;
  /** The most a slice is asked for (a reservation larger than it still gets a slice of its own size). Default $10. */
  maxSliceUsd?: number;
  /**
   * The lease. Default 600 000 ms (10 min): longer than a call takes, since a call still running
   * when its slice expires at the ledger is charged in full but counted uncovered. A slice takes
   * new grants for half of it, and is returned once those have settled.
   */
  ttlMs?: number;
  /** How often aged slices are retired and idle ones returned. Default `ttlMs / 4`; 0: never (call `tick()`). */
  checkEveryMs?: number;
  /** Each reply's month (the router's BudgetState), to route by. */
  onBudget?: (budget: BudgetStateMessage) => void;
  log?: (line: string) => void;
  now?: () => number;
  /** Default `<holder>.<uuid>`. */
  newSliceId?: () => string;
}

/** A reservation granted from a slice: `reservationId` (the slice's id) is what the call's usage names. */
export interface SliceGrant { granted: true; reservationId: string; amountUsd: number; clientKey: string | null }
/** No grant: the ledger refused a slice (its reason), or could not be asked. */
export interface SliceRefusal { granted: false; code: 'insufficient_budget' | 'key_budget' | 'ledger_unavailable'; reason: string }

interface Slice {
  id: string; clientKey: string | null; amountUsd: number; leasedAt: number;
  /** The amounts of its grants not settled yet. */
  heldUsd: number;
  /** What its settled grants cost. */
  chargedUsd: number;
  grants: number;
  retired: boolean;
  returning: Promise<void> | null;
  /** Its renewal ahead of need was refused: not asked again for it (the call that needs one will ask). */
  renewRefused: boolean;
}
interface KeySlices { current: Slice | null; leasing: Promise<Slice | SliceRefusal> | null }

const EPS = BUDGET_EPSILON_USD;
/** A grant can lose the room of a fresh slice to the callers that waited with it: it asks again, this many times at most. */
const MAX_LEASES_PER_RESERVE = 8;

/**
 * A gateway's budget slices: per gateway key, one current slice of the month leased from the
 * ledger, from which each paid call is reserved in memory with no round trip. A slice that runs
 * below a quarter is renewed ahead of need; one past half its lease takes no new grants and is
 * returned, with what its grants cost, once they have all settled. The ledger's side, and what
 * happens to a slice whose gateway dies: src/db/budgetSlices.ts, docs/operations.md "Budget slices".
 *
 * @example
 * const slices = new BudgetSlices({ ledger: natsSliceLedger(nc), holder: 'gw-1a2b' });
 * const grant = await slices.reserve('laptop', 0.12);
 * if (!grant.granted) return routeLocally(grant.reason);
 * // … the call, then its usage (reservationId: grant.reservationId) durable in JetStream:
 * slices.settle(grant, 0.07);
 * await slices.stop(); // returns every slice
 */
export class BudgetSlices {
  readonly #o: Required<Omit<BudgetSlicesOptions, 'onBudget' | 'log'>> & Pick<BudgetSlicesOptions, 'onBudget' | 'log'>;
  readonly #keys = new Map<string, KeySlices>();
  readonly #slices = new Map<string, Slice>();
  readonly #unsettled = new WeakSet<SliceGrant>();
  readonly #timer: NodeJS.Timeout | null;
  #largestUsd = 0;
  #budget: BudgetStateMessage | null = null;
  #stopped = false;
  /** Slices the ledger has taken back: one that came back during a refused lease may have freed its room. */
  #returnsDone = 0;

  constructor(options: BudgetSlicesOptions) {
    const ttlMs = options.ttlMs ?? 600_000;
    this.#o = {
      ...options, ttlMs, sliceUsd: options.sliceUsd ?? 1, sliceReservations: options.sliceReservations ?? 50, maxSliceUsd: options.maxSliceUsd ?? 10,
      now: options.now ?? Date.now, newSliceId: options.newSliceId ?? (() => `${options.holder}.${randomUUID()}`),
      checkEveryMs: options.checkEveryMs ?? ttlMs / 4,
    };
    this.#timer = this.#o.checkEveryMs > 0 ? setInterval(() => this.tick(), this.#o.checkEveryMs) : null;
    this.#timer?.unref();
  }

  /** The month as the ledger's last reply said it, or null before any. */
  budget(): BudgetStateMessage | null {
    return this.#budget;
  }

  /**
   * Reserves `amountUsd` for one call of `clientKey` (null: a request without a gateway key):
   * from the key's current slice when it has the room, else after leasing a new one (one lease in
   * flight per key; callers that come meanwhile wait for it).
   * @throws KoubouError `BUDGET_SLICES_STOPPED` after `stop()`.
   */
  async reserve(clientKey: string | null, amountUsd: number): Promise<SliceGrant | SliceRefusal> {
    if (!(Number.isFinite(amountUsd) && amountUsd >= 0)) throw new RangeError(`amountUsd must be a non-negative number, got ${amountUsd}`);
    this.#largestUsd = Math.max(this.#largestUsd, amountUsd);
    const k = this.#keyOf(clientKey);
    for (let i = 0; i < MAX_LEASES_PER_RESERVE; i++) {
      if (this.#stopped) throw new KoubouError('BUDGET_SLICES_STOPPED', `budget slices of ${this.#o.holder} are stopped: no reservation of $${amountUsd}`);
      this.#retireAged(k);
      const s = k.current;
      if (s && room(s) >= amountUsd - EPS) return this.#grant(k, s, amountUsd);
      const outcome = await this.#leaseFor(k, clientKey, amountUsd);
      if (!('id' in outcome)) return outcome;
    }
    return { granted: false, code: 'insufficient_budget', reason: `${MAX_LEASES_PER_RESERVE} fresh slices were taken by concurrent calls before this one's $${amountUsd}` };
  }

  /**
   * A granted call is done and its usage is durable in JetStream (or it made none: `actualUsd` 0):
   * its hold becomes a charge of `actualUsd`. Settling a grant twice changes nothing.
   */
  settle(grant: SliceGrant, actualUsd: number): void {
    if (!this.#unsettled.has(grant)) return;
    this.#unsettled.delete(grant);
    const s = this.#slices.get(grant.reservationId);
    if (!s) return;
    s.grants -= 1;
    s.heldUsd = s.grants === 0 ? 0 : s.heldUsd - grant.amountUsd;
    s.chargedUsd += Math.max(0, actualUsd);
    const k = this.#keyOf(s.clientKey);
    this.#retireAged(k);
    if (s.retired && s.grants === 0) this.#giveBack(s);
  }

  /** Retires slices past half their lease and returns retired slices whose grants have settled (the timer calls it). */
  tick(): void {
    for (const k of this.#keys.values()) this.#retireAged(k);
    for (const s of this.#slices.values()) if (s.retired && s.grants === 0) this.#giveBack(s);
  }

  /**
   * Returns every slice and takes no more grants. A slice with grants not settled yet is returned
   * with their amounts counted as charged: the ledger holds them until their usages land, or
   * until it closes the slice at its expiry.
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    await Promise.allSettled([...this.#keys.values()].map((k) => k.leasing));
    for (const s of this.#slices.values()) this.#retire(s);
    await Promise.allSettled([...this.#slices.values()].map((s) => this.#giveBack(s)));
  }

  #keyOf(clientKey: string | null): KeySlices {
    // Key names are 1-64 characters: '' is no key's.
    const name = clientKey ?? '';
    let k = this.#keys.get(name);
    if (!k) this.#keys.set(name, k = { current: null, leasing: null });
    return k;
  }

  #grant(k: KeySlices, s: Slice, amountUsd: number): SliceGrant {
    s.heldUsd += amountUsd;
    s.grants += 1;
    const grant: SliceGrant = { granted: true, reservationId: s.id, amountUsd, clientKey: s.clientKey };
    this.#unsettled.add(grant);
    // Renewed before it runs dry: the next slice is leased while this one still serves.
    if (room(s) < s.amountUsd / 4 && !k.leasing && !s.renewRefused) {
      void this.#leaseFor(k, s.clientKey, Math.min(this.#largestUsd, this.#wantUsd())).then((r) => {
        if ('id' in r) return;
        s.renewRefused = true;
        this.#o.log?.(`budget slices: renewing ${s.clientKey ?? 'no key'}'s slice ahead of need: ${r.reason}`);
      });
    }
    return grant;
  }

  #wantUsd(): number {
    return Math.min(this.#o.maxSliceUsd, Math.max(this.#o.sliceUsd, this.#o.sliceReservations * this.#largestUsd));
  }

  #leaseFor(k: KeySlices, clientKey: string | null, minUsd: number): Promise<Slice | SliceRefusal> {
    k.leasing ??= this.#lease(k, clientKey, minUsd, true).finally(() => { k.leasing = null; });
    return k.leasing;
  }

  async #lease(k: KeySlices, clientKey: string | null, minUsd: number, mayWait: boolean): Promise<Slice | SliceRefusal> {
    const req: SliceLeaseRequest = {
      sliceId: this.#o.newSliceId(), holder: this.#o.holder, ...(clientKey !== null ? { clientKey } : {}),
      minUsd, wantUsd: Math.max(this.#wantUsd(), minUsd), ttlMs: Math.round(this.#o.ttlMs),
    };
    const returnsBefore = this.#returnsDone;
    let reply: SliceLeaseReply;
    try {
      // Idempotent by its id: a lease whose reply was lost is asked once more, and granted once.
      reply = await this.#o.ledger.lease(req).catch(() => this.#o.ledger.lease(req));
    } catch (e) {
      // It may have been granted all the same: give it back now rather than at its expiry.
      this.#o.ledger.return({ sliceId: req.sliceId, holder: req.holder, chargedUsd: 0 }).catch(() => {});
      return { granted: false, code: 'ledger_unavailable', reason: `no budget slice from the ledger: ${(e as Error).message}` };
    }
    this.#heard(reply.budget);
    if (!reply.granted) {
      // Our own slices on their way back (or back since we asked) may hold the room the ledger lacked:
      // wait for them, ask once more.
      const returning = [...this.#slices.values()].flatMap((s) => (s.returning ? [s.returning] : []));
      if (mayWait && (returning.length > 0 || this.#returnsDone !== returnsBefore)) {
        await Promise.allSettled(returning);
        return this.#lease(k, clientKey, minUsd, false);
      }
      const code = reply.code === 'key_budget' || reply.code === 'insufficient_budget' ? reply.code : 'ledger_unavailable';
      return { granted: false, code, reason: reply.reason };
    }
    const slice: Slice = {
      id: reply.sliceId, clientKey, amountUsd: reply.amountUsd, leasedAt: this.#o.now(), heldUsd: 0, chargedUsd: 0, grants: 0, retired: false, returning: null, renewRefused: false,
    };
    this.#slices.set(slice.id, slice);
    if (this.#stopped) {
      this.#retire(slice);
      return { granted: false, code: 'ledger_unavailable', reason: 'budget slices stopped while a slice was leased' };
    }
    if (k.current) this.#retire(k.current);
    k.current = slice;
    return slice;
  }

  #retireAged(k: KeySlices): void {
    if (k.current && this.#o.now() - k.current.leasedAt >= this.#o.ttlMs / 2) this.#retire(k.current);
  }

  /** No new grants from it; returned once its grants have settled. */
  #retire(s: Slice): void {
    s.retired = true;
    const k = this.#keyOf(s.clientKey);
    if (k.current === s) k.current = null;
    if (s.grants === 0) this.#giveBack(s);
  }

  #giveBack(s: Slice): Promise<void> {
    s.returning ??= this.#o.ledger.return({ sliceId: s.id, holder: this.#o.holder, chargedUsd: Math.max(0, s.chargedUsd + s.heldUsd) }).then(
      (reply) => {
        this.#heard(reply.budget);
        // Returned, or nothing left to return (closed at its expiry, unknown): done with it either way.
        this.#slices.delete(s.id);
        this.#returnsDone += 1;
      },
      (e: unknown) => {
        // The ledger did not answer: the next tick asks again (or the ledger closes it at its expiry).
        this.#o.log?.(`budget slices: returning ${s.id}: ${(e as Error).message}`);
        s.returning = null;
      },
    );
    return s.returning;
  }

  #heard(budget: BudgetStateMessage): void {
    this.#budget = budget;
    this.#o.onBudget?.(budget);
  }
}

/** What a slice can still grant. */
const room = (s: Slice): number => s.amountUsd - s.heldUsd - s.chargedUsd;
