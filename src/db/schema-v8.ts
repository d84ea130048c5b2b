/**
 * Migration 8: the dashboard's access keys, kept as SHA-256 digests. A dashboard bound to
 * anything but loopback admits only a request that carries one of the live keys.
 */

export const SCHEMA_V8 = `
CREATE TABLE dashboard_keys (
    name TEXT PRIMARY KEY CHECK(length(name) BETWEEN 1 AND 64),
    digest TEXT NOT NULL UNIQUE CHECK(length(digest) = 64),
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    revoked_at TIMESTAMP
);
`;
