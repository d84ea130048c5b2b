/**
 * Migration 12: budget slices. A slice is a reservation a gateway leases for many calls at once
 * (`kind = 'slice'`, no task, its gateway in `holder`), so it counts against the month, and its
 * key's month, by the same rule and under the same lock as a reservation for one call. Its calls'
 * usages charge it without settling it while it is leased; the holder returns it (`returned_usd`:
 * what its calls cost, by the holder's count), or the ledger closes it past `expires_at` and a
 * grace period (`expired_at`). See src/db/budgetSlices.ts.
 *
 * The budget watch's reasons gain 'slice_expired' (a usage charged to a slice the ledger had
 * already closed at its expiry) and 'other_key' (charged to a slice of another gateway key):
 * SQLite cannot change a CHECK in place, so `unreserved_usage` (which no table references) is
 * rebuilt, keeping every row.
 *
 * Frozen: the text is never edited (test/db-migrations.freeze.test.ts).
 */

export const SCHEMA_V12 = `
ALTER TABLE budget_reservations ADD COLUMN kind TEXT NOT NULL DEFAULT 'call' CHECK(kind IN ('call', 'slice'));
ALTER TABLE budget_reservations ADD COLUMN holder TEXT;
ALTER TABLE budget_reservations ADD COLUMN expires_at TIMESTAMP;
ALTER TABLE budget_reservations ADD COLUMN returned_usd REAL CHECK(returned_usd IS NULL OR returned_usd >= 0);
ALTER TABLE budget_reservations ADD COLUMN expired_at TIMESTAMP;
CREATE INDEX idx_budget_reservations_slices ON budget_reservations(kind, status, expires_at);

CREATE TABLE unreserved_usage_v12 (
    usage_id TEXT PRIMARY KEY,
    task_id TEXT,
    tier TEXT NOT NULL,
    reservation_id TEXT,
    cost_usd REAL NOT NULL CHECK(cost_usd >= 0),
    uncovered_usd REAL NOT NULL CHECK(uncovered_usd >= 0),
    reason TEXT NOT NULL CHECK(reason IN ('no_reservation', 'not_granted', 'other_task', 'released', 'exceeded', 'slice_expired', 'other_key')),
    timestamp TIMESTAMP NOT NULL
);
INSERT INTO unreserved_usage_v12 (usage_id, task_id, tier, reservation_id, cost_usd, uncovered_usd, reason, timestamp)
    SELECT usage_id, task_id, tier, reservation_id, cost_usd, uncovered_usd, reason, timestamp FROM unreserved_usage ORDER BY rowid;
DROP TABLE unreserved_usage;
ALTER TABLE unreserved_usage_v12 RENAME TO unreserved_usage;
CREATE INDEX idx_unreserved_usage_timestamp ON unreserved_usage(timestamp);
`;
