/**
 * Migration 10: the outcome of each verified attempt (an agent task's test command, run after the
 * attempt), by tier and task type, so the ledger can say how often each tier's work passes.
 */

export const SCHEMA_V10 = `
CREATE TABLE test_outcomes (
    task_id TEXT NOT NULL,
    attempt INTEGER NOT NULL CHECK(attempt >= 1),
    tier TEXT NOT NULL CHECK(length(tier) BETWEEN 1 AND 64),
    task_type TEXT NOT NULL,
    passed INTEGER NOT NULL CHECK(passed IN (0, 1)),
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (task_id, attempt)
);
CREATE INDEX idx_test_outcomes_tier_type ON test_outcomes(tier, task_type);
`;
