/**
 * A server a benchmark runs as its own process (a `koubou sim`, Portkey's gateway): started,
 * awaited until its output says where it listens, stopped at the end.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { waitFor } from './upSystem.ts';

export interface ChildServer {
  /** The first capture group of `ready` in the server's output (its address). */
  address: string;
  stop(): Promise<void>;
}

/** Runs `node args...` until `ready` matches its output; `address` is the match's first group. */
export async function startChildServer(args: string[], ready: RegExp, env: Record<string, string> = {}): Promise<ChildServer> {
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => { out = (out + d).slice(-20_000); });
  child.stderr!.on('data', (d) => { out = (out + d).slice(-20_000); });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  };
  try {
    await waitFor(() => ready.test(out) || child.exitCode !== null, 90_000, () => out);
    const m = ready.exec(out);
    if (!m) throw new Error(`${args.join(' ')} exited: ${out.slice(-2000)}`);
    return { address: m[1]!, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** A zero-latency `koubou sim` in its own process; its address is the OpenAI base URL (…/v1). */
export async function startSimProcess(): Promise<ChildServer> {
  const bin = fileURLToPath(new URL('../bin/koubou.js', import.meta.url));
  return startChildServer([bin, 'sim', '--port', '0', '--latency', '0'], /OpenAI: (http:\/\/\S+\/v1)/);
}

/**
 * Portkey's open-source gateway (npm `@portkey-ai/gateway`), headless, on a free port, allowed
 * to call a backend on loopback. Node's fetch hands it responses with immutable headers, which
 * its streaming path then tries to change (Portkey-AI/gateway#1389, #1550); the preloaded
 * shim gives it mutable copies, as its own proposed fix (#1551) does.
 */
export async function startPortkey(): Promise<ChildServer> {
  const port = await freePort();
  const server = fileURLToPath(new URL('../node_modules/@portkey-ai/gateway/build/start-server.js', import.meta.url));
  const shim = fileURLToPath(new URL('./portkeyFetchShim.mjs', import.meta.url));
  const child = await startChildServer(['--import', shim, server, `--port=${port}`, '--headless'], /(Ready for connections)/, { TRUSTED_CUSTOM_HOSTS: '127.0.0.1' });
  return { address: `http://127.0.0.1:${port}/v1`, stop: child.stop };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}
