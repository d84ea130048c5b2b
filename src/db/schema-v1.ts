/**
 * Migration 1: the tables of the first design document (工房システム設計書 §2.1), verbatim except
 * that every CHECK list is generated from the const arrays in `core/types.ts`.
 *
 * Why generated: the TypeScript unions and the SQL constraints must agree. Caveat: a migration's
 * text is frozen once a database has applied it, so adding a value to e.g. TASK_TYPES later needs
 * a NEW migration that rebuilds the table — editing the array only affects fresh databases.
 */
import {
  DIFFICULTY_LEVELS,
  SENSITIVITY_LEVELS,
  TASK_STATUSES,
  TASK_TYPES,
  TIERS,
  WORKER_STATUSES,
} from '../core/types.ts';
import { sqlList } from './sql.ts';

export const SCHEMA_V1 = `
CREATE TABLE task_master (
    task_id TEXT PRIMARY KEY,
    task_type TEXT NOT NULL CHECK(task_type IN (${sqlList(TASK_TYPES)})),
    difficulty_level TEXT NOT NULL CHECK(difficulty_level IN (${sqlList(DIFFICULTY_LEVELS)})),
    sensitivity_level TEXT NOT NULL CHECK(sensitivity_level IN (${sqlList(SENSITIVITY_LEVELS)})),
    assigned_worker_type TEXT CHECK(assigned_worker_type IN (${sqlList(TIERS)})),
    status TEXT NOT NULL CHECK(status IN (${sqlList(TASK_STATUSES)})),
    priority INTEGER DEFAULT 5 CHECK(priority BETWEEN 1 AND 10),
    estimated_tokens INTEGER,
    actual_tokens INTEGER,
    estimated_cost REAL,
    actual_cost REAL,
    parent_task_id TEXT,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    FOREIGN KEY (parent_task_id) REFERENCES task_master(task_id)
);

CREATE TABLE cost_tracking (
    tracking_id INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id TEXT,
    worker_type TEXT NOT NULL,
    model_name TEXT NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    total_tokens INTEGER NOT NULL,
    cost_usd REAL NOT NULL,
    timestamp TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    FOREIGN KEY (task_id) REFERENCES task_master(task_id)
);

CREATE TABLE budget_management (
    budget_id INTEGER PRIMARY KEY AUTOINCREMENT,
    year_month TEXT NOT NULL UNIQUE,
    budget_limit_usd REAL NOT NULL,
    spent_usd REAL DEFAULT 0,
    remaining_usd REAL GENERATED ALWAYS AS (budget_limit_usd - spent_usd) STORED,
    alert_threshold_percent INTEGER DEFAULT 80,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE workers (
    worker_id TEXT PRIMARY KEY,
    worker_type TEXT NOT NULL CHECK(worker_type IN (${sqlList(TIERS)})),
    model_name TEXT NOT NULL,
    api_endpoint TEXT NOT NULL,
    process_id INTEGER,
    status TEXT NOT NULL CHECK(status IN (${sqlList(WORKER_STATUSES)})),
    capabilities JSON,
    rate_limit_remaining INTEGER,
    rate_limit_reset_at TIMESTAMP,
    last_heartbeat TIMESTAMP,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);
`;
