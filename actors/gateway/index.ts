export { claudeModelMap, type ModelNameMap } from './claudeModels.ts';
export { Gateway, GATEWAY_MODEL, type GatewayKey, type GatewayOptions } from './Gateway.ts';
/** The digest the gateway compares, from the keys package (the ledger stores the same). */
export { keyDigest } from '../../src/keys/index.ts';
export { ledgerKeyLookup } from './ledgerKeyLookup.ts';
export { InteractivePath, type InteractiveBudget, type InteractivePathOptions, type RunHooks } from './interactive/InteractivePath.ts';
export { openInteractivePath, type OpenInteractivePathOptions } from './interactive/openInteractivePath.ts';
export { BudgetSlices, type BudgetSlicesOptions, type SliceGrant, type SliceLedger, type SliceRefusal } from './BudgetSlices.ts';
export { natsSliceLedger } from './natsSliceLedger.ts';
