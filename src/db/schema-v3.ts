/**
 * Migration 3: what koubou itself needs on top of the two design documents.
 *
 * - cost_tracking: `usage_id` is the idempotency key of one provider call (a redelivered message
 *   must not charge twice). SQLite's ALTER TABLE cannot add a UNIQUE column, so uniqueness is a
 *   UNIQUE INDEX; legacy rows keep NULL, which UNIQUE permits more than once.
 * - task_master: free-text `reason` (why it is in its status), `error`, `result_summary`.
 * - budget_reservations: money set aside before a paid call so concurrent routers cannot overspend.
 * - fallback_log, routing_audit, task_rejections: the audit trail.
 *
 * The new tables take `task_id` without a FOREIGN KEY on purpose: audit rows and reservations must
 * be writable even for a task that was never (or not yet) stored — losing an audit row to a
 * constraint error would be worse than a dangling id.
 *
 * Frozen: every list is spelled out literally, and the text is never edited
 * (test/db-migrations.freeze.test.ts).
 */
export const RESERVATION_STATUSES = ['active', 'settled', 'released'] as const;
export const FALLBACK_PHASES = ['routing', 'execution'] as const;

export const SCHEMA_V3 = `
ALTER TABLE cost_tracking ADD COLUMN usage_id TEXT;
ALTER TABLE cost_tracking ADD COLUMN cached_prompt_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE cost_tracking ADD COLUMN reasoning_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE cost_tracking ADD COLUMN reservation_id TEXT;
CREATE UNIQUE INDEX idx_cost_tracking_usage_id ON cost_tracking(usage_id);
CREATE INDEX idx_cost_tracking_timestamp ON cost_tracking(timestamp);
CREATE INDEX idx_cost_tracking_task_id ON cost_tracking(task_id);

ALTER TABLE task_master ADD COLUMN reason TEXT;
ALTER TABLE task_master ADD COLUMN error TEXT;
ALTER TABLE task_master ADD COLUMN result_summary TEXT;
CREATE INDEX idx_task_master_created_at ON task_master(created_at);
CREATE INDEX idx_task_master_status ON task_master(status);
CREATE INDEX idx_task_master_parent_task_id ON task_master(parent_task_id);

CREATE TABLE budget_reservations (
    reservation_id TEXT PRIMARY KEY,
    task_id TEXT,
    tier TEXT NOT NULL CHECK(tier IN ('gpt5_high', 'gpt5_medium', 'local')),
    year_month TEXT NOT NULL CHECK(year_month GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]'),
    amount_usd REAL NOT NULL CHECK(amount_usd >= 0),
    status TEXT NOT NULL DEFAULT 'active' CHECK(status IN ('active', 'settled', 'released')),
    actual_usd REAL CHECK(actual_usd IS NULL OR actual_usd >= 0),
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    settled_at TIMESTAMP,
    released_at TIMESTAMP
);
CREATE INDEX idx_budget_reservations_month_status ON budget_reservations(year_month, status);
CREATE INDEX idx_budget_reservations_task_id ON budget_reservations(task_id);

CREATE TABLE fallback_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id TEXT NOT NULL,
    from_tier TEXT NOT NULL CHECK(from_tier IN ('gpt5_high', 'gpt5_medium', 'local')),
    to_tier TEXT NOT NULL CHECK(to_tier IN ('gpt5_high', 'gpt5_medium', 'local')),
    reason TEXT NOT NULL,
    phase TEXT NOT NULL CHECK(phase IN ('routing', 'execution')),
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX idx_fallback_log_task_id ON fallback_log(task_id);
CREATE INDEX idx_fallback_log_created_at ON fallback_log(created_at);

CREATE TABLE routing_audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id TEXT NOT NULL,
    state TEXT NOT NULL,
    tier TEXT CHECK(tier IS NULL OR tier IN ('gpt5_high', 'gpt5_medium', 'local')),
    reasons TEXT NOT NULL DEFAULT '[]'
        CHECK(json_valid(reasons) AND json_type(reasons) = 'array'),
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX idx_routing_audit_task_id ON routing_audit(task_id);
CREATE INDEX idx_routing_audit_created_at ON routing_audit(created_at);

CREATE TABLE task_rejections (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    subject TEXT NOT NULL,
    reason TEXT NOT NULL,
    payload_excerpt TEXT,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX idx_task_rejections_created_at ON task_rejections(created_at);
`;
