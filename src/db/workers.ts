/**
 * workers: the registry each worker refreshes with a heartbeat.
 */
import type { Tier, WorkerStatus } from '../core/types.ts';
import { parseStringArray, statementCache, type LedgerDb } from './sql.ts';
import { sqlTimestamp } from './time.ts';

/**
 * A heartbeat. Optional fields that are omitted (or null) keep their stored value, so a minimal
 * heartbeat never wipes what a fuller one (or `setPerformanceFactor`) recorded.
 */
export interface WorkerHeartbeat {
  workerId: string;
  /** The tier it serves. LAN Ollama hosts are `local` with a non-'local' `location`. */
  workerType: Tier;
  modelName: string;
  apiEndpoint: string;
  status: WorkerStatus;
  processId?: number | null;
  capabilities?: string[] | null;
  rateLimitRemaining?: number | null;
  /** Ledger timestamp text (`YYYY-MM-DD HH:MM:SS`, UTC). */
  rateLimitResetAt?: string | null;
  /** `'local'` (default) or the remote host. */
  location?: string | null;
  endpointUrl?: string | null;
  performanceFactor?: number | null;
  networkLatencyMs?: number | null;
  lastHealthCheck?: string | null;
}

export interface WorkerRecord {
  workerId: string;
  workerType: Tier;
  modelName: string;
  apiEndpoint: string;
  status: WorkerStatus;
  processId: number | null;
  capabilities: string[];
  rateLimitRemaining: number | null;
  rateLimitResetAt: string | null;
  location: string;
  endpointUrl: string | null;
  performanceFactor: number;
  networkLatencyMs: number | null;
  lastHealthCheck: string | null;
  lastHeartbeat: string | null;
  createdAt: string;
}

interface WorkerRow {
  worker_id: string;
  worker_type: Tier;
  model_name: string;
  api_endpoint: string;
  status: WorkerStatus;
  process_id: number | null;
  capabilities: string | null;
  rate_limit_remaining: number | null;
  rate_limit_reset_at: string | null;
  location: string | null;
  endpoint_url: string | null;
  performance_factor: number | null;
  network_latency_ms: number | null;
  last_health_check: string | null;
  last_heartbeat: string | null;
  created_at: string;
}

const toRecord = (r: WorkerRow): WorkerRecord => ({
  workerId: r.worker_id, workerType: r.worker_type, modelName: r.model_name,
  apiEndpoint: r.api_endpoint, status: r.status, processId: r.process_id,
  capabilities: parseStringArray(r.capabilities), rateLimitRemaining: r.rate_limit_remaining,
  rateLimitResetAt: r.rate_limit_reset_at, location: r.location ?? 'local',
  endpointUrl: r.endpoint_url, performanceFactor: r.performance_factor ?? 1.0,
  networkLatencyMs: r.network_latency_ms, lastHealthCheck: r.last_health_check,
  lastHeartbeat: r.last_heartbeat, createdAt: r.created_at,
});

/**
 * Columns a heartbeat may leave out, with their parameter: COALESCE keeps the stored value. Bound
 * parameters rather than `excluded.*`, because the INSERT defaults location/performance_factor and
 * `excluded` would carry those defaults over a remote worker's real values.
 */
const KEEP = Object.entries({
  process_id: 'processId', capabilities: 'capabilities', rate_limit_remaining: 'rateLimitRemaining',
  rate_limit_reset_at: 'rateLimitResetAt', location: 'location', endpoint_url: 'endpointUrl',
  performance_factor: 'performanceFactor', network_latency_ms: 'networkLatencyMs',
  last_health_check: 'lastHealthCheck',
}).map(([col, param]) => `${col} = COALESCE(@${param}, workers.${col})`).join(', ');

const stmts = statementCache((db) => ({
  upsert: db.prepare(`INSERT INTO workers (worker_id, worker_type, model_name, api_endpoint, status,
      process_id, capabilities, rate_limit_remaining, rate_limit_reset_at, location, endpoint_url,
      performance_factor, network_latency_ms, last_health_check, last_heartbeat, created_at)
    VALUES (@workerId, @workerType, @modelName, @apiEndpoint, @status, @processId, @capabilities,
      @rateLimitRemaining, @rateLimitResetAt, COALESCE(@location, 'local'), @endpointUrl,
      COALESCE(@performanceFactor, 1.0), @networkLatencyMs, @lastHealthCheck, @now, @now)
    ON CONFLICT(worker_id) DO UPDATE SET worker_type = excluded.worker_type,
      model_name = excluded.model_name, api_endpoint = excluded.api_endpoint,
      status = excluded.status, last_heartbeat = excluded.last_heartbeat,
      ${KEEP}`),
  get: db.prepare<[string], WorkerRow>('SELECT * FROM workers WHERE worker_id = ?'),
  list: db.prepare<[], WorkerRow>('SELECT * FROM workers ORDER BY worker_type, worker_id'),
  setFactor: db.prepare<[number, string]>('UPDATE workers SET performance_factor = ? WHERE worker_id = ?'),
}));

/**
 * Registers a worker or refreshes its heartbeat (`last_heartbeat` = now).
 *
 * @example
 * upsertWorker(db, { workerId: 'remote_lan_001', workerType: 'local', modelName: 'gpt-oss:20b',
 *   apiEndpoint: 'http://192.168.1.100:11434', status: 'idle', location: '192.168.1.100',
 *   performanceFactor: 0.5, capabilities: ['general'] });
 */
export function upsertWorker(db: LedgerDb, w: WorkerHeartbeat, opts: { now?: Date } = {}): WorkerRecord {
  if (w.performanceFactor != null) assertFactor(w.performanceFactor);
  stmts(db).upsert.run({
    ...w,
    processId: w.processId ?? null,
    capabilities: w.capabilities == null ? null : JSON.stringify(w.capabilities),
    rateLimitRemaining: w.rateLimitRemaining ?? null,
    rateLimitResetAt: w.rateLimitResetAt ?? null,
    location: w.location ?? null,
    endpointUrl: w.endpointUrl ?? null,
    performanceFactor: w.performanceFactor ?? null,
    networkLatencyMs: w.networkLatencyMs ?? null,
    lastHealthCheck: w.lastHealthCheck ?? null,
    now: sqlTimestamp(opts.now),
  });
  const row = stmts(db).get.get(w.workerId);
  if (!row) throw new Error(`worker ${w.workerId} missing right after upsert`);
  return toRecord(row);
}

/** @example getWorker(db, 'local_001')?.status // => 'idle' */
export function getWorker(db: LedgerDb, workerId: string): WorkerRecord | null {
  const row = stmts(db).get.get(workerId);
  return row ? toRecord(row) : null;
}

/** Every registered worker, by tier then id. @example listWorkers(db).filter((w) => w.status === 'idle') */
export function listWorkers(db: LedgerDb): WorkerRecord[] {
  return stmts(db).list.all().map(toRecord);
}

function assertFactor(factor: number): void {
  if (!Number.isFinite(factor) || factor <= 0) {
    throw new RangeError(`performanceFactor must be a finite number > 0, got ${String(factor)}`);
  }
}

/**
 * Sets a worker's measured speed relative to the local baseline (1.0 = as fast as local).
 *
 * @returns false if no such worker.
 * @example
 * setPerformanceFactor(db, 'remote_lan_001', 0.47);
 */
export function setPerformanceFactor(db: LedgerDb, workerId: string, factor: number): boolean {
  assertFactor(factor);
  return stmts(db).setFactor.run(factor, workerId).changes > 0;
}
