/**
 * The gateways' shared session state in JetStream KV (`koubou_sessions`): confidential marks,
 * agents' token counts by parent task, and each session's tier (a session is routed once).
 */
export { SessionStore, sessionKey, parentKey, type SessionRecord, type SessionChange } from './SessionStore.ts';
export { ensureSessionBucket, openSessionBucket, SESSION_TTL_MS, SESSION_MAX_BYTES, SESSION_MAX_VALUE_BYTES } from './ensureSessionBucket.ts';
export { askDigest, sessionTierOf, sessionTierChange } from './sessionTier.ts';
export { publicSessionId } from './publicSessionId.ts';
