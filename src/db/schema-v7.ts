/**
 * Migration 7: paid usage that no granted reservation of its task covered, one row per call
 * (`unreserved_usage`), so the ledger's watch of the budget rule is never silent: counted in
 * `/metrics` as `koubou_unreserved_usd_total`, shown in `koubou status` and on the dashboard.
 *
 * Frozen: the text is never edited (test/db-migrations.freeze.test.ts).
 */

export const SCHEMA_V7 = `
CREATE TABLE unreserved_usage (
    usage_id TEXT PRIMARY KEY,
    task_id TEXT,
    tier TEXT NOT NULL,
    reservation_id TEXT,
    cost_usd REAL NOT NULL CHECK(cost_usd >= 0),
    uncovered_usd REAL NOT NULL CHECK(uncovered_usd >= 0),
    reason TEXT NOT NULL CHECK(reason IN ('no_reservation', 'not_granted', 'other_task', 'released', 'exceeded')),
    timestamp TIMESTAMP NOT NULL
);
CREATE INDEX idx_unreserved_usage_timestamp ON unreserved_usage(timestamp);
`;
