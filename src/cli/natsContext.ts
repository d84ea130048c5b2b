import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectBus, loadOrCreateCredentials, type Role } from '../bus/index.ts';
import { loadConfig, type KoubouConfig } from '../config/index.ts';

/** Where `koubou up` keeps its state: NATS data, the ledger, generated credentials. */
export const STATE_DIR = '.koubou';
export const CREDENTIALS_FILE = `${STATE_DIR}/credentials.env`;
export const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';

export interface NatsContext {
  config: KoubouConfig;
  url: string;
  /** Environment holding the role passwords: .koubou/credentials.env under the process environment. */
  env: Record<string, string | undefined>;
  connect(role: Role, name?: string): Promise<NatsConnection>;
}

/** Adds `--nats <url>` to a command. */
export const natsOption = (cmd: Command): Command =>
  cmd.option('--nats <url>', `NATS server (default: config nats.url, $NATS_URL, else ${DEFAULT_NATS_URL})`);

/**
 * Resolves config, NATS URL and credentials the same way for every command.
 *
 * @example
 * const ctx = natsContext(program, opts);
 * const nc = await ctx.connect('submitter');
 */
export function natsContext(program: Command, opts: { nats?: string }): NatsContext {
  const config = loadConfig({ file: program.opts().config });
  const url = opts.nats ?? config.nats.url ?? DEFAULT_NATS_URL;
  const file = resolve(CREDENTIALS_FILE);
  const env = { ...(existsSync(file) ? loadOrCreateCredentials(file) : {}), ...process.env };
  return { config, url, env, connect: (role, name) => connectBus({ url, role, env, ...(name ? { name } : {}) }) };
}

/** Resolves on SIGINT or SIGTERM, so a long-running command can shut down cleanly. */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolveSignal) => {
    const on = (sig: NodeJS.Signals) => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolveSignal(sig);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}
