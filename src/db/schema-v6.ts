/**
 * Migration 6: the gateway's API keys, kept as SHA-256 digests with an optional monthly budget
 * each, and the key a task came through (on its row and its reservations), so spend and
 * reservations can be added up per key.
 */

export const SCHEMA_V6 = `
CREATE TABLE gateway_keys (
    name TEXT PRIMARY KEY CHECK(length(name) BETWEEN 1 AND 64),
    digest TEXT NOT NULL UNIQUE CHECK(length(digest) = 64),
    monthly_budget_usd REAL CHECK(monthly_budget_usd IS NULL OR monthly_budget_usd >= 0),
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    revoked_at TIMESTAMP
);
ALTER TABLE task_master ADD COLUMN client_key TEXT;
ALTER TABLE budget_reservations ADD COLUMN client_key TEXT;
CREATE INDEX idx_task_master_client_key ON task_master(client_key);
CREATE INDEX idx_budget_reservations_client_key ON budget_reservations(client_key, year_month, status);
`;
