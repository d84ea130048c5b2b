/**
 * Migration 11: each task's ask, as its task events summarise it (the user's words a client
 * wrapped; for confidential work only its size and categories), so `koubou status` and the
 * ledger's task answers say what was asked.
 */

export const SCHEMA_V11 = `
ALTER TABLE task_master ADD COLUMN ask_summary TEXT;
`;
