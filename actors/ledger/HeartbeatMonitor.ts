/**
 * Keeps the `workers` table in step with the workers' heartbeats: throttled writes, and workers
 * that went silent marked offline.
 */
import type { Heartbeat } from '../../src/bus/index.ts';
import { upsertWorker, type LedgerDb } from '../../src/db/index.ts';
import { sqlTimestamp } from '../../src/db/time.ts';

export interface HeartbeatMonitorOptions {
  /** How often workers send a heartbeat. Default 2000 ms; silent for 3× this means offline. */
  intervalMs?: number;
  /** Least time between two writes of one worker's row. Default 1000 ms. */
  writeIntervalMs?: number;
  /** How often to look for silent workers. Default: `intervalMs`. */
  checkEveryMs?: number;
  log?: (line: string) => void;
}

interface Slot {
  lastWrite: number;
  pending: Heartbeat | null;
  timer: NodeJS.Timeout | null;
}

/** Ledger timestamp text (UTC, whole seconds) → epoch ms. */
const parseSqlTime = (text: string): number => Date.parse(`${text.replace(' ', 'T')}Z`);

/**
 * @example
 * const monitor = new HeartbeatMonitor(db, { intervalMs: 2000 });
 * monitor.start();
 * monitor.onHeartbeat(heartbeat); // from koubou.evt.worker.<id>
 * monitor.stop();                 // writes what is still pending
 */
export class HeartbeatMonitor {
  private readonly slots = new Map<string, Slot>();
  /** Millisecond time each worker was last heard from. Stored timestamps are whole seconds and lag by the throttle. */
  private readonly lastSeen = new Map<string, number>();
  private sweeper: NodeJS.Timeout | null = null;
  private readonly intervalMs: number;
  private readonly writeIntervalMs: number;
  private readonly log: (line: string) => void;
  private readonly stmts;

  constructor(private readonly db: LedgerDb, private readonly options: HeartbeatMonitorOptions = {}) {
    this.intervalMs = options.intervalMs ?? 2000;
    this.writeIntervalMs = options.writeIntervalMs ?? 1000;
    this.log = options.log ?? (() => {});
    this.stmts = {
      live: db.prepare<[], { worker_id: string; last_heartbeat: string | null; created_at: string }>(
        "SELECT worker_id, last_heartbeat, created_at FROM workers WHERE status != 'offline'",
      ),
      offline: db.prepare<[string]>("UPDATE workers SET status = 'offline' WHERE worker_id = ? AND status != 'offline'"),
      exists: db.prepare<[string], { model_name: string }>('SELECT model_name FROM workers WHERE worker_id = ?'),
    };
  }

  start(): void {
    this.sweeper ??= setInterval(() => this.guard('offline check', () => this.sweep()), this.options.checkEveryMs ?? this.intervalMs);
  }

  /** Stops the timers and writes every heartbeat still held back by the throttle. */
  stop(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
    for (const [workerId, slot] of this.slots) {
      if (slot.timer) clearTimeout(slot.timer);
      slot.timer = null;
      if (slot.pending) this.guard(workerId, () => this.write(slot));
    }
  }

  /**
   * Records a heartbeat: written now if the worker's row was not written within
   * `writeIntervalMs`, else held and written when that interval ends (only the latest one).
   */
  onHeartbeat(hb: Heartbeat, now = Date.now()): void {
    this.lastSeen.set(hb.workerId, now);
    let slot = this.slots.get(hb.workerId);
    if (!slot) this.slots.set(hb.workerId, (slot = { lastWrite: -Infinity, pending: null, timer: null }));
    slot.pending = hb;
    const wait = slot.lastWrite + this.writeIntervalMs - now;
    if (wait <= 0) {
      const s = slot;
      this.guard(hb.workerId, () => this.write(s, now));
    } else if (!slot.timer) {
      const s = slot;
      s.timer = setTimeout(() => {
        s.timer = null;
        this.guard(hb.workerId, () => this.write(s));
      }, wait);
    }
  }

  /**
   * Marks offline every worker not heard from for 3 × `intervalMs`.
   * @returns the ids marked now.
   */
  sweep(now = Date.now()): string[] {
    const limit = 3 * this.intervalMs;
    const marked: string[] = [];
    for (const row of this.stmts.live.all()) {
      // Workers heard by this process: the precise time. Others (rows from before a restart): the
      // stored second, rounded up so that truncation never marks a worker early.
      const seen = this.lastSeen.get(row.worker_id) ?? parseSqlTime(row.last_heartbeat ?? row.created_at) + 999;
      if (now - seen > limit && this.stmts.offline.run(row.worker_id).changes > 0) marked.push(row.worker_id);
    }
    if (marked.length) this.log(`ledger: no heartbeat for ${limit} ms: ${marked.join(', ')} offline`);
    return marked;
  }

  private write(slot: Slot, now = Date.now()): void {
    const hb = slot.pending;
    if (!hb) return;
    slot.pending = null;
    slot.lastWrite = now;
    // A placeholder row (an execution recorded before the first heartbeat) is not yet known.
    const known = (this.stmts.exists.get(hb.workerId)?.model_name ?? 'unknown') !== 'unknown';
    upsertWorker(this.db, {
      workerId: hb.workerId, workerType: hb.tier, modelName: hb.model, apiEndpoint: hb.endpoint,
      status: hb.status, processId: hb.pid, capabilities: hb.capabilities,
      // workers.location is 'local' or the remote host (remote-worker design).
      location: hb.location === 'local' ? 'local' : hb.host,
      endpointUrl: hb.endpoint,
      // A new worker starts from the factor it was configured with; after that the ledger's
      // measurements own the column.
      performanceFactor: known ? null : hb.performanceFactor ?? null,
      networkLatencyMs: hb.health?.latencyMs == null ? null : Math.round(hb.health.latencyMs),
      lastHealthCheck: hb.health ? sqlTimestamp(new Date(hb.health.checkedAt)) : null,
    });
  }

  /** A failed write is logged and dropped: the next heartbeat writes again. Never crashes the actor. */
  private guard(what: string, fn: () => unknown): void {
    try {
      fn();
    } catch (e) {
      this.log(`ledger: heartbeat ${what}: ${(e as Error).message}`);
    }
  }
}
