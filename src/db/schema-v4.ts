/**
 * Migration 4: the latest provider rate-limit signal per tier (`x-ratelimit-*` headers, 429s),
 * so that `koubou route --dry-run` answers with the rate limits the running system last saw.
 */

export const SCHEMA_V4 = `
CREATE TABLE rate_limit_signals (
    tier TEXT PRIMARY KEY CHECK(tier IN ('gpt5_high', 'gpt5_medium', 'local')),
    status INTEGER NOT NULL,
    headers TEXT NOT NULL CHECK(json_valid(headers) AND json_type(headers) = 'object'),
    observed_at_ms INTEGER NOT NULL CHECK(observed_at_ms >= 0),
    received_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);
`;
