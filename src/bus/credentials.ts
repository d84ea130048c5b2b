import { randomBytes } from 'node:crypto';
import { appendFileSync, chmodSync, existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DOOR_KEY_VAR } from './doorSeal.ts';

/**
 * The NATS roles of nats.conf. `gateway` is a front door: it authenticates its own callers
 * (gateway keys) and alone may submit on its door's subject, the only path on which a task may
 * name a key, a session or a parent (src/core/identityFields.ts).
 */
export const ROLES = ['router', 'ledger', 'cloud_worker', 'local_worker', 'submitter', 'dashboard', 'gateway', 'mcp'] as const;
export type Role = (typeof ROLES)[number];

/** The environment variable nats.conf reads a role's password from. */
export const passwordVar = (role: Role): string => `KOUBOU_NATS_${role.toUpperCase()}_PASSWORD`;

/**
 * A fresh random password. nats-server parses a `$VAR` reference's value as a
 * config token, so it must read as a plain string: a letter first, then hex
 * (a leading digit would be taken for a number and the server refuses to start).
 */
export const newPassword = (): string => `kb${randomBytes(24).toString('hex')}`;

/** The password the nodes of a cluster open routes to each other with (nats-cluster.conf). */
export const ROUTE_PASSWORD_VAR = 'KOUBOU_NATS_ROUTE_PASSWORD';

/**
 * Fresh random passwords for every role and for the cluster's routes, and the key front doors
 * seal their submissions with (doorSeal.ts), as environment variables.
 */
export function generateCredentials(): Record<string, string> {
  return {
    ...Object.fromEntries(ROLES.map((r) => [passwordVar(r), newPassword()])), [ROUTE_PASSWORD_VAR]: newPassword(), [DOOR_KEY_VAR]: newPassword(),
  };
}

/**
 * The machine's own credentials file (`koubou init`, `koubou up`): reads `.koubou/credentials.env`
 * (KEY=value lines), creating it with fresh passwords, mode 600, when it does not exist. A file
 * written before a role (or the door key) existed gets fresh values for what it lacks, added at
 * its end; what it has is kept.
 */
export function loadOrCreateCredentials(file: string): Record<string, string> {
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true });
    const creds = generateCredentials();
    writeFileSync(file, '# koubou NATS credentials (generated; keep private)\n' + lines(creds), { mode: 0o600 });
    chmodSync(file, 0o600);
    return creds;
  }
  const out = readCredentials(file);
  const missing = Object.fromEntries(Object.entries(generateCredentials()).filter(([k]) => !(k in out)));
  if (Object.keys(missing).length > 0) {
    const text = readFileSync(file, 'utf8');
    appendFileSync(file, (text === '' || text.endsWith('\n') ? '' : '\n') + lines(missing));
    chmodSync(file, 0o600);
  }
  return { ...out, ...missing };
}

/**
 * The variables of a credentials file as it is, adding nothing: what a command on another host
 * reads, whose file rightly holds its own role's password alone.
 *
 * @example
 * readCredentials('.koubou/credentials.env').KOUBOU_NATS_LOCAL_WORKER_PASSWORD;
 */
export function readCredentials(file: string): Record<string, string> {
  const out: Record<string, string> = {};
  const text = readFileSync(file, 'utf8');
  for (const line of text.split('\n')) {
    const m = /^\s*([A-Z0-9_]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

const lines = (vars: Record<string, string>): string => Object.entries(vars).map(([k, v]) => `${k}=${v}`).join('\n') + '\n';
