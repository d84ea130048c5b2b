export { loadConfig, DEFAULT_CONFIG_FILE, ENV_OVERRIDES, type LoadConfigOptions } from './loadConfig.ts';
export { configSchema, expectedOutputTokens, type KoubouConfig, type TierConfig, type PriorityRule } from './schema.ts';
export { isCloudTier, stateNameOf, taskPolicyOf, tierNames, tierOf, tierPlanOf } from './tiers.ts';
