import { jetstream, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { CONSUMERS, decode, encode, heartbeatSchema, MessageError, STREAMS, SUBJECTS } from '../../src/bus/index.ts';
import type { KoubouConfig } from '../../src/config/index.ts';
import { currentYearMonth, ensureMonth, setMonthLimit, sweepExpiredSlices, type LedgerDb } from '../../src/db/index.ts';
import { EventWriter } from './EventWriter.ts';
import { HeartbeatMonitor } from './HeartbeatMonitor.ts';
import { PerformanceMonitor } from './PerformanceMonitor.ts';
import { LedgerService, SERVICE_SUBJECTS } from './LedgerService.ts';
import { isTransientSqliteError } from './sqliteErrors.ts';

/** Most events written in one SQLite transaction. */
const GROUP_COMMIT_MAX = 128;

export interface LedgerOptions {
  /** A connection as role `ledger`; not closed by `stop()`. */
  nc: NatsConnection;
  /** The open ledger (`openLedgerDb`); not closed by `stop()`. */
  db: LedgerDb;
  /** `budget` (monthly_usd, alert_threshold_percent) and, when given, `pool.performance` are read. */
  config: Pick<KoubouConfig, 'budget'> & Partial<Pick<KoubouConfig, 'pool'>>;
  /** Default: silent. */
  log?: (line: string) => void;
  /** Workers' heartbeat interval. Default 2000 ms; a worker silent for 3× this is marked offline. */
  heartbeatIntervalMs?: number;
  /** Least time between two writes of one worker's row. Default 1000 ms. */
  heartbeatWriteIntervalMs?: number;
  /** How often silent workers are looked for. Default: `heartbeatIntervalMs`. */
  offlineCheckMs?: number;
  /** Events pulled ahead of processing. Default 64. */
  maxMessages?: number;
  /** Redelivery delay after a transient SQLite error (SQLITE_BUSY). Default 500 ms. */
  retryDelayMs?: number;
  /**
   * Budget slices: how long past its expiry a gateway's slice still holds its money, so that the
   * records its gateway had sent before it died land first. Default 30 000 ms (`DEFAULT_SLICE_GRACE_MS`).
   */
  sliceGraceMs?: number;
  /** How often slices past their expiry and grace are closed (each lease also sweeps first). Default 5000 ms. */
  sliceSweepMs?: number;
}

/** Counters, for logs and tests. */
export interface LedgerStats {
  applied: number;
  duplicates: number;
  ignored: number;
  refused: number;
  retried: number;
  /** SQLite transactions that committed batches of events: `applied / commits` is the group commit's size. */
  commits: number;
}

/**
 * The ledger actor, the single writer of the SQLite ledger. It consumes KOUBOU_EVENTS (durable
 * `ledger`) in order and acks each event only after its rows committed, records worker
 * heartbeats, and answers budget reservations and queries by request/reply.
 *
 * @example
 * const ledger = new Ledger({ nc, db: openLedgerDb('.koubou/koubou.db'), config });
 * await ledger.start();
 * // ... later
 * await ledger.stop(); // then close nc and db
 */
export class Ledger {
  readonly stats: LedgerStats = { applied: 0, duplicates: 0, ignored: 0, refused: 0, retried: 0, commits: 0 };
  private readonly log: (line: string) => void;
  private readonly writer: EventWriter;
  private readonly heartbeats: HeartbeatMonitor;
  private readonly service: LedgerService;
  /** Measures the local-tier workers' performance factors; `recompute()` runs it now. */
  readonly performance: PerformanceMonitor;
  private readonly subs: Subscription[] = [];
  private messages: ConsumerMessages | null = null;
  private loop: Promise<void> | null = null;
  private sliceSweep: NodeJS.Timeout | null = null;
  private stopping = false;

  constructor(private readonly options: LedgerOptions) {
    const { db, config } = options;
    this.log = options.log ?? (() => {});
    const budget = { monthlyLimitUsd: config.budget.monthly_usd, alertThresholdPercent: config.budget.alert_threshold_percent };
    this.writer = new EventWriter(db, budget);
    this.service = new LedgerService(db, budget, this.log, options.sliceGraceMs !== undefined ? { graceMs: options.sliceGraceMs } : {});
    this.heartbeats = new HeartbeatMonitor(db, {
      ...(options.heartbeatIntervalMs !== undefined ? { intervalMs: options.heartbeatIntervalMs } : {}),
      ...(options.heartbeatWriteIntervalMs !== undefined ? { writeIntervalMs: options.heartbeatWriteIntervalMs } : {}),
      ...(options.offlineCheckMs !== undefined ? { checkEveryMs: options.offlineCheckMs } : {}),
      log: this.log,
    });
    const perf = config.pool?.performance;
    this.performance = new PerformanceMonitor(options.nc, db, {
      ...(perf ? { everyMs: perf.recompute_seconds * 1000, windowHours: perf.window_hours, minSamples: perf.min_samples } : {}),
      log: this.log,
    });
  }

  /** Needs the streams and the `ledger` consumer to exist (`ensureStreams`). */
  async start(): Promise<void> {
    const { nc, db, config } = this.options;
    // The current month follows the config: a changed monthly_usd applies from this start on.
    const month = currentYearMonth();
    ensureMonth(db, month, config.budget.monthly_usd, config.budget.alert_threshold_percent);
    setMonthLimit(db, month, config.budget.monthly_usd, config.budget.alert_threshold_percent);

    this.heartbeats.start();
    this.performance.start();
    this.sweepSlices();
    this.sliceSweep = setInterval(() => this.sweepSlices(), this.options.sliceSweepMs ?? 5000);
    this.sliceSweep.unref();
    this.subs.push(nc.subscribe(SUBJECTS.heartbeatAll, { callback: (err, m) => { if (!err) this.onHeartbeat(m); } }));
    for (const subject of SERVICE_SUBJECTS) {
      // A queue group: with several ledgers running, each request is answered once.
      this.subs.push(nc.subscribe(subject, { queue: 'ledger', callback: (err, m) => { if (!err) this.onRequest(m); } }));
    }
    const consumer = await jetstream(nc).consumers.get(STREAMS.events, CONSUMERS.ledger);
    this.messages = await consumer.consume({ max_messages: this.options.maxMessages ?? 64 });
    this.loop = this.consumeLoop(this.messages);
  }

  /**
   * Stops taking requests and heartbeats, stops pulling events, writes the events already
   * received (they are acked as usual), and flushes throttled heartbeats. Closes nothing it was given.
   */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    await Promise.allSettled(this.subs.map((s) => s.drain()));
    // stop() lets the iterator hand out what it already buffered, then end: those are written too.
    this.messages?.stop();
    await this.loop;
    this.heartbeats.stop();
    this.performance.stop();
    if (this.sliceSweep) clearInterval(this.sliceSweep);
  }

  /** Closes the budget slices whose gateways neither returned them nor came back by their expiry and grace. */
  private sweepSlices(): void {
    try {
      const closed = sweepExpiredSlices(this.options.db, this.options.sliceGraceMs !== undefined ? { graceMs: this.options.sliceGraceMs } : {});
      if (closed > 0) this.log(`ledger: closed ${closed} expired budget slice(s): what they still held is free again`);
    } catch (e) {
      // The next sweep (or lease) tries again; a busy file is no reason to stop the ledger.
      this.log(`ledger: budget slice sweep: ${(e as Error).message}`);
    }
  }

  private async consumeLoop(messages: ConsumerMessages): Promise<void> {
    const batch: JsMsg[] = [];
    let scheduled: NodeJS.Immediate | null = null;
    const flush = () => {
      scheduled = null;
      this.writeBatch(batch.splice(0));
    };
    try {
      for await (const m of messages) {
        batch.push(m);
        if (batch.length >= GROUP_COMMIT_MAX) flush();
        else scheduled ??= setImmediate(flush);
      }
    } catch (e) {
      if (!this.stopping) this.log(`ledger: event consumer ended: ${(e as Error).message}`);
    }
    if (scheduled) clearImmediate(scheduled);
    flush();
  }

  /**
   * Group commit: the events that arrived together are written in one SQLite transaction, with no
   * savepoint per event, and acknowledged only after it commits, so a crash never loses an
   * acknowledged event. One commit per event was the ledger's largest cost; a savepoint per event
   * (three, nested, before) its next.
   *
   * A message that does not validate is refused before it writes anything, so it is recorded and
   * dropped inside the batch. Anything else that throws mid-event may have written half of it: the
   * whole batch is rolled back and written again with each event in a savepoint of its own, so one
   * bad event still never undoes the others.
   */
  private writeBatch(batch: JsMsg[]): void {
    if (batch.length === 0) return;
    let settle: (() => void)[];
    try {
      try {
        settle = this.options.db.transaction(() => batch.map((m) => this.onEvent(m, false))).immediate();
      } catch (e) {
        if (!(e instanceof HalfWritten)) throw e;
        settle = this.options.db.transaction(() => batch.map((m) => this.onEvent(m, true))).immediate();
      }
    } catch (e) {
      // The batch could not even start or commit (the database is busy): all of it comes back.
      for (const m of batch) this.retry(m, e);
      return;
    }
    this.stats.commits += 1;
    for (const s of settle) s();
  }

  /**
   * Writes one event inside the batch's transaction (in a savepoint of its own when `isolated`);
   * returns how to settle it once that commits.
   * @throws HalfWritten when not isolated and the write failed after it may have written rows.
   */
  private onEvent(m: JsMsg, isolated: boolean): () => void {
    try {
      const write = () => this.writer.write(m.subject, m.data);
      const outcome = isolated ? this.options.db.transaction(write)() : write();
      // Counted when settled: a batch written twice counts once.
      return () => {
        this.stats[outcome === 'applied' ? 'applied' : outcome === 'duplicate' ? 'duplicates' : 'ignored'] += 1;
        m.ack();
      };
    } catch (e) {
      if (!(e instanceof MessageError) && !isolated) throw new HalfWritten(e);
      if (isTransientSqliteError(e)) return () => this.retry(m, e);
      // A poison message (or one SQLite refuses for good) is recorded and dropped, never retried:
      // it must not block the events behind it.
      const reason = e instanceof MessageError ? e.message : `could not record it: ${(e as Error).message}`;
      this.log(`ledger: refused ${m.subject} (stream seq ${m.seq}): ${reason}`);
      try {
        this.options.db.transaction(() => this.writer.recordRefusal(m.subject, reason, m.data))();
      } catch (e2) {
        if (isTransientSqliteError(e2)) return () => this.retry(m, e2);
        this.log(`ledger: could not record the refusal of ${m.subject}: ${(e2 as Error).message}`);
      }
      // No reason argument: `+TERM <reason>` is nats-server ≥ 2.10; 2.9 ignores it and would
      // redeliver the message forever. The reason is in the ledger's rejection row instead.
      return () => {
        this.stats.refused += 1;
        m.term();
      };
    }
  }

  private retry(m: JsMsg, e: unknown): void {
    this.stats.retried += 1;
    this.log(`ledger: ${m.subject}: ${(e as Error).message}; retrying`);
    m.nak(this.options.retryDelayMs ?? 500);
  }

  private onHeartbeat(m: Msg): void {
    try {
      const hb = decode(heartbeatSchema, m.data, m.subject);
      this.heartbeats.onHeartbeat(hb);
      this.performance.onHeartbeat(hb);
    } catch (e) {
      // Core NATS, not persisted: a bad heartbeat is only logged; the next one counts.
      this.log(`ledger: ignored heartbeat ${m.subject}: ${(e as Error).message}`);
    }
  }

  private onRequest(m: Msg): void {
    const reply = this.service.handle(m.subject, m.data);
    if (!m.respond(encode(reply))) this.log(`ledger: ${m.subject}: request without a reply subject`);
  }
}

/** An event's write failed after it may have written rows: its batch is rolled back whole and written again, an event per savepoint. */
class HalfWritten extends Error {
  constructor(readonly failure: unknown) {
    super(`an event failed mid-write: ${(failure as Error)?.message ?? String(failure)}`);
  }
}
