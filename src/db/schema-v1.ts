/**
 * Migration 1: the tables of the first design document (工房システム設計書 §2.1), verbatim.
 *
 * Frozen: a database that applied this text keeps it, so every CHECK list is spelled out
 * literally (not generated from `core/types.ts`, whose arrays may grow) and the text is never
 * edited; test/db-migrations.freeze.test.ts fails if it changes. A new value needs a new
 * migration (migration 5 relaxed the tier lists).
 */

export const SCHEMA_V1 = `
CREATE TABLE task_master (
    task_id TEXT PRIMARY KEY,
    task_type TEXT NOT NULL CHECK(task_type IN ('code_generation', 'code_review', 'refactoring', 'testing', 'documentation', 'architecture', 'algorithm', 'general')),
    difficulty_level TEXT NOT NULL CHECK(difficulty_level IN ('high', 'medium', 'low')),
    sensitivity_level TEXT NOT NULL CHECK(sensitivity_level IN ('confidential', 'internal', 'public')),
    assigned_worker_type TEXT CHECK(assigned_worker_type IN ('gpt5_high', 'gpt5_medium', 'local')),
    status TEXT NOT NULL CHECK(status IN ('pending', 'routing', 'assigned', 'in_progress', 'completed', 'failed', 'cancelled')),
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
    worker_type TEXT NOT NULL CHECK(worker_type IN ('gpt5_high', 'gpt5_medium', 'local')),
    model_name TEXT NOT NULL,
    api_endpoint TEXT NOT NULL,
    process_id INTEGER,
    status TEXT NOT NULL CHECK(status IN ('idle', 'busy', 'offline', 'error', 'rate_limited')),
    capabilities JSON,
    rate_limit_remaining INTEGER,
    rate_limit_reset_at TIMESTAMP,
    last_heartbeat TIMESTAMP,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);
`;
