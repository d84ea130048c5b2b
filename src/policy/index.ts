/**
 * The policies koubou routes by, as pure functions: sensitivity, difficulty, tokens, prices,
 * the budget rule and rate limits. The package's one entry: code outside src/policy imports
 * from here (a dependency check in scripts/test holds it to that).
 */
export * from './budget.ts';
export * from './difficulty.ts';
export * from './pricing.ts';
export * from './rateLimit.ts';
export * from './tokens.ts';
export * from './sensitivity/index.ts';
export * from './ask/index.ts';
