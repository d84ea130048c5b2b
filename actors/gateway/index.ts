export { Gateway, GATEWAY_MODEL, keyDigest, type GatewayOptions } from './Gateway.ts';
