/**
 * Migration 9 (parent caps): a master's session (`koubou mcp`) is a parent task with a money cap
 * of its own, and each reservation names the capped parent it counts against, so the session's
 * children (and their own children: an agent's model requests) are reserved against the cap
 * under the same write lock as the month's budget.
 */

export const SCHEMA_V9 = `
CREATE TABLE parent_caps (
    parent_task_id TEXT PRIMARY KEY REFERENCES task_master(task_id),
    cap_usd REAL CHECK(cap_usd IS NULL OR cap_usd >= 0),
    opened_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);
ALTER TABLE budget_reservations ADD COLUMN capped_parent TEXT;
CREATE INDEX idx_budget_reservations_capped_parent ON budget_reservations(capped_parent, status);
`;
