/**
 * Placement by priority: which lane of the local tier a task goes to, from the
 * `routing_policy` rules (the remote-worker design's TaskRouter).
 */
import type { Lane } from '../bus/lanes.ts';
import type { PriorityRule } from '../config/index.ts';

export interface LaneChoice {
  lane: Lane;
  /** The rule that decided, as the config states it, or why none did. */
  reason: string;
}

/**
 * The lane for a task of this priority: the first rule whose range holds it
 * decides; a rule preferring only `local` (or only `remote`) workers gives that
 * lane, one preferring both gives the shared lane. No matching rule: shared.
 *
 * @example
 * laneFor(9, rules); // { lane: 'local', reason: 'priority 9 in [8, 10]: high-priority work runs ...' }
 * laneFor(2, rules); // { lane: 'remote', ... }
 * laneFor(6, rules); // { lane: 'any', ... }
 */
export function laneFor(priority: number, rules: readonly PriorityRule[]): LaneChoice {
  for (const rule of rules) {
    const [lo, hi] = rule.priority_range;
    if (priority < lo || priority > hi) continue;
    const kinds = new Set(rule.preferred_workers);
    const lane: Lane = kinds.size === 1 ? [...kinds][0]! : 'any';
    return { lane, reason: `priority ${priority} in [${lo}, ${hi}]${rule.reason ? `: ${rule.reason}` : ''}` };
  }
  return { lane: 'any', reason: `priority ${priority}: no routing_policy rule, any local-tier worker` };
}
