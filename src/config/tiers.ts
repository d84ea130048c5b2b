/**
 * Tiers as data: what the config's `tiers`, `routing.fallback_order` and
 * `routing.difficulty_tiers` say, in the forms the rest of koubou asks for.
 */
import { InputError } from '../core/errors.ts';
import type { Tier } from '../core/types.ts';
import type { TaskPolicy, TierPlan } from '../../machines/task.types.ts';
import type { KoubouConfig, TierConfig } from './schema.ts';

/**
 * A tier's config entry.
 *
 * @throws InputError naming the tiers there are, for a name that is not one of them.
 * @example tierOf(config, 'gpt5_high').model // 'gpt-5'
 */
export function tierOf(config: KoubouConfig, tier: Tier): TierConfig {
  const entry = config.tiers[tier];
  if (!entry) throw new InputError(`unknown tier ${JSON.stringify(tier)}; tiers: ${tierNames(config).join(', ')}`, { code: 'UNKNOWN_TIER' });
  return entry;
}

/** Every tier, in fallback order (cloud tiers first, `local` last). */
export function tierNames(config: KoubouConfig): Tier[] {
  return [...config.routing.fallback_order];
}

/** True for a tier whose model runs at a cloud provider: never for confidential work. */
export function isCloudTier(config: KoubouConfig, tier: Tier): boolean {
  return config.tiers[tier]?.cloud ?? false;
}

/**
 * The name a tier's states carry in the task machine: each `_`-separated word capitalised,
 * a short name with a version number in capitals.
 *
 * @example
 * stateNameOf('gpt5_high'); // 'GPT5High'
 * stateNameOf('gpt5_mini'); // 'GPT5Mini'
 * stateNameOf('o3');        // 'O3'
 */
export function stateNameOf(tier: Tier): string {
  return tier.split('_').filter(Boolean)
    .map((word) => (/^[a-z]{1,3}\d+$/.test(word) ? word.toUpperCase() : word.charAt(0).toUpperCase() + word.slice(1)))
    .join('');
}

/** The tiers the task machine routes over, from the config. */
export function tierPlanOf(config: KoubouConfig): TierPlan {
  return {
    cloud: tierNames(config).filter((t) => isCloudTier(config, t)).map((tier) => ({ tier, stateName: stateNameOf(tier) })),
    difficulty: { ...config.routing.difficulty_tiers },
  };
}

/**
 * What the config says every task's machine may do (its `policy` input): how long to wait out a
 * rate limit, whether internal work stays local, how many tiers a failed test may climb. The
 * router and `koubou route --dry-run` both start machines with it.
 */
export function taskPolicyOf(config: KoubouConfig): TaskPolicy {
  return Object.freeze({
    maxRateLimitWaitMs: config.routing.max_rate_limit_wait_seconds * 1000,
    internalStaysLocal: config.routing.sensitivity.internal_stays_local,
    escalationMaxSteps: config.routing.escalation.max_steps,
  });
}
