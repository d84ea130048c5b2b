import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { NatsConnection } from '@nats-io/transport-node';
import { busTlsFiles, connectBus, readCredentials, TLS_CA_VAR, type Role } from '../bus/index.ts';
import { loadConfig, type KoubouConfig } from '../config/index.ts';

/** Where `koubou up` keeps its state: NATS data, the ledger, generated credentials. */
export const STATE_DIR = '.koubou';
export const CREDENTIALS_FILE = `${STATE_DIR}/credentials.env`;
export const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';
/** Written by `koubou up`: where the server it started listens. */
export const UP_FILE = `${STATE_DIR}/up.json`;

export interface NatsContext {
  config: KoubouConfig;
  url: string;
  /** Environment holding the role passwords: .koubou/credentials.env under the process environment. */
  env: Record<string, string | undefined>;
  connect(role: Role, name?: string): Promise<NatsConnection>;
}

/** Adds `--nats <url>` to a command. */
export const natsOption = (cmd: Command): Command =>
  cmd.option('--nats <url>', `NATS server (default: config nats.url, $NATS_URL, the server \`koubou up\` started here, else ${DEFAULT_NATS_URL})`);

/**
 * Resolves config, NATS URL and credentials the same way for every command.
 *
 * @example
 * const ctx = natsContext(program, opts);
 * const nc = await ctx.connect('submitter');
 */
export function natsContext(program: Command, opts: { nats?: string }): NatsContext {
  const config = loadConfig({ file: program.opts().config });
  const url = opts.nats ?? config.nats.url ?? upUrl() ?? DEFAULT_NATS_URL;
  const file = resolve(CREDENTIALS_FILE);
  const env = { ...(existsSync(file) ? readCredentials(file) : {}), ...defaultCa(), ...process.env };
  return { config, url, env, connect: (role, name) => connectBus({ url, role, env, ...(name ? { name } : {}) }) };
}

/**
 * The CA `koubou init` made here, when there is one and KOUBOU_NATS_TLS_CA does not name another:
 * then every command verifies the server with it (and insists on TLS).
 */
function defaultCa(): Record<string, string> {
  const ca = busTlsFiles(process.cwd()).caCert;
  return existsSync(ca) ? { [TLS_CA_VAR]: ca } : {};
}

/** The URL of a running `koubou up` in this directory, if any. */
function upUrl(): string | undefined {
  try {
    const up = JSON.parse(readFileSync(resolve(UP_FILE), 'utf8')) as { natsUrl?: string; pid?: number };
    if (up.pid && !isAlive(up.pid)) return undefined;
    return up.natsUrl;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
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
