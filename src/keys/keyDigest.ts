import { createHash } from 'node:crypto';

/**
 * SHA-256 hex of an API key: what koubou keeps of a gateway key (the ledger stores it, the
 * gateway compares it), never the key.
 *
 * @example
 * keyDigest('kb-…'); // '3f0a…' (64 hex digits)
 */
export const keyDigest = (key: string): string => createHash('sha256').update(key).digest('hex');
