/**
 * A session is routed once: the one place that decides, from a session's record and this
 * turn's ask, which tier the turn is held to, and what routing's answer changes in the record.
 * The machine reads the result (task.sessionTier) where it picks the tier by difficulty.
 */
import { createHash } from 'node:crypto';
import type { TaskInput } from '../core/types.ts';
import type { Ask } from '../policy/index.ts';
import type { SessionChange, SessionRecord } from './SessionStore.ts';

/**
 * Which task a turn is part of, as a digest of its task statement (the first user message, the
 * client's markup taken out). Tool round trips and follow-up messages of the conversation keep
 * it; a new conversation under the same session name, or a history compacted into a new first
 * message, changes it: a new ask, routed afresh.
 *
 * @example
 * askDigest({ statement: 'fix a typo' }) === askDigest({ statement: 'fix a typo' }); // true
 */
export function askDigest(ask: Pick<Ask, 'statement'>): string {
  return createHash('sha256').update(ask.statement).digest('hex').slice(0, 32);
}

/**
 * The tier a turn of the session is held to: none for the session's first turn or a side
 * request (side requests are neither held to the session's tier nor change it).
 *
 * @example
 * sessionTierOf({ v: 1, tier: 'gpt5_high', askDigest: 'a1' }, 'a1', null); // { tier: 'gpt5_high', newAsk: false }
 * sessionTierOf({ v: 1, tier: 'gpt5_high', askDigest: 'a1' }, 'b2', null); // { tier: 'gpt5_high', newAsk: true }
 */
export function sessionTierOf(record: SessionRecord | null, digest: string, side: Ask['side']): TaskInput['sessionTier'] {
  if (side || !record?.tier) return undefined;
  return { tier: record.tier, newAsk: record.askDigest !== digest };
}

/**
 * What the session's record takes from a routed turn: the tier routing chose where it picks by
 * difficulty (a first turn, a new ask, or the kept tier again), with its reason. Null when the
 * turn says nothing of the session's tier: a side request, a pinned turn, a turn that never
 * reached that step (confidential, budget critical, budget unknown), or nothing new.
 */
export function sessionTierChange(
  current: SessionRecord | null,
  routed: { tier: string; reason: string } | null,
  turn: { digest: string; pinned: boolean; side: boolean },
): SessionChange | null {
  if (!routed || turn.pinned || turn.side) return null;
  if (current?.tier === routed.tier && current.askDigest === turn.digest) return null;
  return { tier: routed.tier, tierReason: routed.reason, askDigest: turn.digest };
}
