/**
 * Migration 2: the remote-worker extension (リモートワーカー拡張設計書 §6).
 *
 * One deliberate deviation: the document's `worker_metrics` declares
 * `FOREIGN KEY (task_id) REFERENCES tasks(task_id)`, but no `tasks` table exists — with
 * `foreign_keys = ON` every insert would fail with "no such table". It is a typo for
 * `task_master`, which is what we reference.
 */
export const SCHEMA_V2 = `
ALTER TABLE workers ADD COLUMN location TEXT DEFAULT 'local';
ALTER TABLE workers ADD COLUMN performance_factor REAL DEFAULT 1.0;
ALTER TABLE workers ADD COLUMN endpoint_url TEXT;
ALTER TABLE workers ADD COLUMN network_latency_ms INTEGER;
ALTER TABLE workers ADD COLUMN last_health_check TIMESTAMP;

CREATE TABLE IF NOT EXISTS worker_metrics (
    metric_id INTEGER PRIMARY KEY AUTOINCREMENT,
    worker_id TEXT NOT NULL,
    task_id TEXT NOT NULL,
    execution_time_ms INTEGER NOT NULL,
    tokens_processed INTEGER,
    prompt_length INTEGER,
    output_length INTEGER,
    success BOOLEAN NOT NULL,
    error_type TEXT,
    measured_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    FOREIGN KEY (worker_id) REFERENCES workers(worker_id),
    FOREIGN KEY (task_id) REFERENCES task_master(task_id)
);

CREATE INDEX idx_worker_metrics_worker_id ON worker_metrics(worker_id);
CREATE INDEX idx_worker_metrics_measured_at ON worker_metrics(measured_at);
`;
