import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

/** The NATS roles of nats.conf. */
export const ROLES = ['router', 'ledger', 'cloud_worker', 'local_worker', 'submitter', 'dashboard'] as const;
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
 * passwords, mode 600, when it does not exist.
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
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^\s*([A-Z0-9_]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}
