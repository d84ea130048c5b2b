import type { Command } from 'commander';
import { Gateway, keyDigest } from '../../../actors/gateway/index.ts';
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
      .addHelpText('after', `
Clients send Authorization: Bearer <key>, one of the comma-separated keys in $${GATEWAY_KEYS_VAR}.
Point an OpenAI client at http://HOST:PORT/v1 with model "koubou", e.g.
  OPENAI_BASE_URL=http://127.0.0.1:8788/v1 OPENAI_API_KEY=<key> aider --model openai/koubou`),
  ).action(async (opts: { nats?: string; port: string; host: string }) => {
    const keys = (process.env[GATEWAY_KEYS_VAR] ?? '').split(',').map((k) => k.trim()).filter(Boolean);
    if (keys.length === 0) throw new InputError(`${GATEWAY_KEYS_VAR} is empty: set it to the key (or comma-separated keys) clients must send`);
    const port = parseIntOption('--port', opts.port, 0);
    const ctx = natsContext(program, opts);
    const nc = await ctx.connect('submitter', 'koubou-gateway');
    const gateway = new Gateway({ nc, keyDigests: keys.map(keyDigest), port, host: opts.host, log: (l) => console.error(l) });
    const { url } = await gateway.start();
    console.error(`gateway: ${url}/v1 (model "koubou", ${keys.length} key${keys.length === 1 ? '' : 's'}), tasks on ${ctx.url}`);
    await untilSignal();
    await gateway.stop();
    await nc.drain();
  });
}
