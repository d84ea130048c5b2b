import { randomBytes } from 'node:crypto';
import { appendFileSync, chmodSync, existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

/** The NATS roles of nats.conf. */
export const ROLES = ['router', 'ledger', 'cloud_worker', 'local_worker', 'submitter', 'dashboard', 'gateway'] as const;
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

/** Fresh random passwords for every role and for the cluster's routes, as environment variables. */
export function generateCredentials(): Record<string, string> {
  return { ...Object.fromEntries(ROLES.map((r) => [passwordVar(r), newPassword()])), [ROUTE_PASSWORD_VAR]: newPassword() };
}

/**
 * Reads `.koubou/credentials.env` (KEY=value lines), creating it with fresh
 * passwords, mode 600, when it does not exist, and adding one for a role the server's file lacks.
 */
export function loadOrCreateCredentials(file: string): Record<string, string> {
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true });
    const creds = generateCredentials();
    const text = '# koubou NATS credentials (generated; keep private)\n' +
      Object.entries(creds).map(([k, v]) => `${k}=${v}`).join('\n') + '\n';
    writeFileSync(file, text, { mode: 0o600 });
    chmodSync(file, 0o600);
    return creds;
  }
  const out: Record<string, string> = {};
  const text = readFileSync(file, 'utf8');
  for (const line of text.split('\n')) {
    const m = /^\s*([A-Z0-9_]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (m) out[m[1]!] = m[2]!;
  }
  // The server's file from before a role existed (the gateway's): nats.conf needs its password
  // too. A host's file with only its own role's password (a LAN worker's) is left as it is.
  const missing = out[passwordVar('router')] ? ROLES.map(passwordVar).filter((v) => !out[v]) : [];
  if (missing.length) {
    for (const v of missing) out[v] = newPassword();
    appendFileSync(file, (text === '' || text.endsWith('\n') ? '' : '\n') + missing.map((v) => `${v}=${out[v]}\n`).join(''));
  }
  return out;
}
