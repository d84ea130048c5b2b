export { Gateway, GATEWAY_MODEL, keyDigest, type GatewayKey, type GatewayOptions } from './Gateway.ts';
export { ledgerKeyLookup } from './ledgerKeyLookup.ts';
