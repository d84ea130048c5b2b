/**
 * A whole system behind one gateway, as the gateway and client tests stand on it: a simulator for
 * the cloud tiers and one for the local tier (each its own server, so what reaches the cloud is
 * known exactly), the system with a worker per tier on them, and a gateway admitting one key.
 */
import { claudeModelMap, Gateway, keyDigest, openInteractivePath } from '../../actors/gateway/index.ts';
import { startSimServer, type SimOptions, type SimServer } from '../../src/llm/sim/index.ts';
import { startSystem, type TestSystem } from './system.ts';

export interface GatewayRig {
  sys: TestSystem;
  cloud: SimServer;
  local: SimServer;
  gateway: Gateway;
  /** The gateway's root URL (the OpenAI API is under `/v1`). */
  url: string;
  stop(): Promise<void>;
}

/**
 * @param options.claude serve Claude's model names too (the config's `claude_models`), as `koubou gateway` does
 * @param options.interactive route in the gateway and call the cloud simulator from it (the interactive path), as `koubou gateway` does; default true (false: every request goes to the routers, `--direct off`)
 * @example
 * const rig = await startGatewayRig('kb-test', { cloud: { tokensPerSecond: 200 } });
 * const client = new OpenAI({ apiKey: 'kb-test', baseURL: `${rig.url}/v1` });
 * await rig.stop();
 */
export async function startGatewayRig(key: string, options: { cloud?: SimOptions; local?: SimOptions; claude?: boolean; interactive?: boolean } = {}): Promise<GatewayRig> {
  const cloud = await startSimServer(options.cloud ?? {});
  const local = await startSimServer(options.local ?? {});
  const sys = await startSystem({ workers: [{ tier: 'gpt5_high', sim: cloud }, { tier: 'gpt5_medium', sim: cloud }, { tier: 'local', sim: local }] });
  const claudeModels = options.claude ? { claudeModels: claudeModelMap(sys.config.claude_models, sys.config.routing.difficulty_tiers) } : {};
  const bus = await sys.nats.gatewayBus();
  // The interactive path, as `koubou gateway` runs it by default: the cloud tiers' calls from the gateway, on the cloud simulator.
  const interactive = options.interactive !== false ? {
    interactive: (await openInteractivePath({
      nc: bus.nc, config: sys.config, doorKey: bus.doorKey, workerId: 'gateway-test',
      backendFlags: { gpt5_high: { sim: cloud.url }, gpt5_medium: { sim: cloud.url } },
    })).path,
  } : {};
  const gateway = new Gateway({ ...bus, keyDigests: [keyDigest(key)], port: 0, ...claudeModels, ...interactive });
  const { url } = await gateway.start();
  return {
    sys, cloud, local, gateway, url,
    async stop() {
      await gateway.stop();
      await sys.stop();
      await cloud.close();
      await local.close();
    },
  };
}
