import type { Command } from 'commander';
import { hostname } from 'node:os';
import { claudeModelMap, Gateway, keyDigest, ledgerKeyLookup, openInteractivePath } from '../../../actors/gateway/index.ts';
import { DOOR_KEY_VAR } from '../../bus/index.ts';
import { loadConfig, tierNames } from '../../config/index.ts';
import { InputError } from '../../core/errors.ts';
import { natsContext, natsOption, untilSignal } from '../natsContext.ts';
import { parseIntOption } from '../parseIntOption.ts';

/** The keys clients must send, from the environment (never an argument, never a file of koubou's). */
export const GATEWAY_KEYS_VAR = 'KOUBOU_GATEWAY_KEYS';

export function registerGateway(program: Command): void {
  natsOption(
    program
      .command('gateway')
      .description('serve the OpenAI API (chat completions, responses, models) on koubou: every request is a routed, charged task')
      .option('--port <n>', 'port to listen on (0: any free port)', '8788')
      .option('--host <addr>', 'interface to bind (0.0.0.0 serves the LAN)', '127.0.0.1')
      .option('--direct <on|off>', 'route requests in this process and make cloud tiers\' calls from it (the interactive path); off: submit every request to the routers', 'on')
      .option('--slice-ttl <seconds>', 'lease of the budget slices this gateway reserves its calls from (longer than its longest call: a call outliving its slice is charged, but counted unreserved); a killed gateway\'s slices are freed this long after their lease, plus the ledger\'s grace; at most 3600', '600')
      .option('--slice-max-usd <usd>', 'largest budget slice this gateway leases per key (a call whose worst case is larger gets a slice of its own size); slices count as reserved until returned, so keep it small against a small monthly budget', '10')
      .option('--simulate-tiers <tiers>', 'comma-separated cloud tiers whose calls this gateway simulates in-process (koubou up passes the tiers it runs without an API key)', '')
      .addHelpText('after', `
Clients send Authorization: Bearer <key>: a key made by \`koubou keys gateway create NAME\`
(kept by the ledger as a hash, with an optional monthly budget of its own), or one of the
comma-separated keys in $${GATEWAY_KEYS_VAR} (spend recorded under the key name "env").

Models: "koubou" (routed by the task machine) and "koubou/<tier>" (pinned to a tier;
sensitivity and the budget still overrule it). Point an OpenAI client at http://HOST:PORT/v1:
  OPENAI_BASE_URL=http://127.0.0.1:8788/v1 OPENAI_API_KEY=<key> aider --model openai/koubou
README.md ("Use koubou from OpenAI-API clients") has Codex CLI, Aider and Continue set-ups.

With --direct on (the default) a request is routed here, and a call on a cloud tier whose
backend this gateway has (OPENAI_API_KEY or the keystore, as a worker's) is made from here;
the rest goes to the tiers' queues. docs/operations.md, "The interactive path".`),
  ).action(async (opts: { nats?: string; port: string; host: string; direct: string; simulateTiers: string; sliceTtl: string; sliceMaxUsd: string }) => {
    if (opts.direct !== 'on' && opts.direct !== 'off') throw new InputError(`--direct takes on or off, got ${JSON.stringify(opts.direct)}`);
    const keys = (process.env[GATEWAY_KEYS_VAR] ?? '').split(',').map((k) => k.trim()).filter(Boolean);
    const port = parseIntOption('--port', opts.port, 0);
    const sliceTtlMs = parseIntOption('--slice-ttl', opts.sliceTtl, 1) * 1000;
    // The ledger leases for an hour at most (src/bus/sliceMessages.ts): a longer one would be refused, every time.
    const maxSliceUsd = Number(opts.sliceMaxUsd);
    if (!Number.isFinite(maxSliceUsd) || maxSliceUsd <= 0) throw new InputError(`--slice-max-usd needs a positive number of dollars, got ${JSON.stringify(opts.sliceMaxUsd)}`);
    if (sliceTtlMs > 3_600_000) throw new InputError(`--slice-ttl must be at most 3600 seconds (the ledger leases a slice for an hour at most), got ${opts.sliceTtl}`);
    const config = loadConfig({ file: program.opts().config });
    const ctx = natsContext(program, opts);
    // The gateway is a front door: its own role, and the key that seals its submissions for the routers.
    const doorKey = ctx.env[DOOR_KEY_VAR];
    if (!doorKey) throw new InputError(`${DOOR_KEY_VAR} is not set: the gateway seals its submissions with it, and the routers check them (koubou init writes it in .koubou/credentials.env)`);
    const simulateTiers = opts.simulateTiers.split(',').map((t) => t.trim()).filter(Boolean);
    const unknown = simulateTiers.filter((t) => !tierNames(config).includes(t));
    if (unknown.length) throw new InputError(`--simulate-tiers: ${unknown.join(', ')} ${unknown.length > 1 ? 'are not tiers' : 'is not a tier'} of the config (tiers: ${tierNames(config).join(', ')})`);
    const nc = await ctx.connect('gateway', 'koubou-gateway');
    const log = (l: string) => console.error(l);
    const direct = opts.direct === 'on'
      ? await openInteractivePath({ nc, config, doorKey, backendFlags: Object.fromEntries(simulateTiers.map((t) => [t, { simLatencyMs: 0 }])), slices: { ttlMs: sliceTtlMs, maxSliceUsd, sliceUsd: Math.min(1, maxSliceUsd) }, workerId: `gateway-${hostname()}-${process.pid}`, log })
      : null;
    const gateway = new Gateway({
      ...(direct ? { interactive: direct.path } : {}),
      nc, doorKey, keyDigests: keys.map(keyDigest), lookupKey: ledgerKeyLookup(nc), tiers: tierNames(config), claudeModels: claudeModelMap(config.claude_models, config.routing.difficulty_tiers), port, host: opts.host, log: (l) => console.error(l),
    });
    const { url } = await gateway.start();
    const models = ['koubou', ...tierNames(config).map((t) => `koubou/${t}`)].join(', ');
    for (const note of direct?.notes ?? ['every request goes to the routers (--direct off)']) console.error(`gateway: ${note}`);
    console.error(`gateway: ${url}/v1 (models ${models}; Anthropic's Messages API at ${url}/v1/messages for Claude Code; keys from koubou keys gateway${keys.length ? ` and ${keys.length} from ${GATEWAY_KEYS_VAR}` : ''}), tasks on ${ctx.url}`);
    await untilSignal();
    await gateway.stop();
    await nc.drain();
  });
}
