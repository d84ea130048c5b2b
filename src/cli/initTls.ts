import { spawnSync } from 'node:child_process';
import { relative } from 'node:path';
import { makeBusCertificates, opensslAvailable, serverName, TLS_CA_VAR, type ServerName } from '../bus/index.ts';
import { InputError } from '../core/errors.ts';
import { repoPath } from '../core/repoPath.ts';

/**
 * `koubou init`'s TLS step: the bus's local CA and server certificate in `.koubou/tls` (openssl
 * is installed from Debian's packages when missing, as scripts/test does), with the server
 * names given by `--tls-host`. Returns the lines to print.
 *
 * @example
 * initTls(process.cwd(), ['gpu-box', '192.168.1.20']);
 */
export function initTls(projectDir: string, hosts: string[]): string[] {
  const extra: ServerName[] = hosts.map((h) => serverName(h));
  ensureOpenssl();
  const certs = makeBusCertificates(projectDir, extra);
  const at = (f: string) => relative(projectDir, f) || f;
  return [
    `TLS: ${certs.wrote.includes('ca') ? 'wrote' : 'kept'} the local CA ${at(certs.files.caCert)} (its key ${at(certs.files.caKey)}, mode 600, never leaves this host)`,
    `TLS: ${certs.wrote.includes('server') ? 'wrote' : 'kept'} the server certificate ${at(certs.files.serverCert)} (key mode 600) for ${certs.names.map((n) => n.replace(/^(DNS|IP):/, '')).join(', ')}`,
    '`koubou up` now runs the bus with TLS (nats-tls.conf). A LAN host needs only the CA (public): copy',
    `${at(certs.files.caCert)} to it, set ${TLS_CA_VAR}=/path/to/ca.pem, connect with --nats tls://THIS_HOST:4222;`,
    'a name or address not listed above: koubou init --tls-host NAME (then restart koubou up).',
  ];
}

function ensureOpenssl(): void {
  if (opensslAvailable()) return;
  const r = spawnSync('/bin/bash', [repoPath('scripts', 'ensure-deps.sh'), 'debian-package', 'openssl', 'openssl', 'koubou init makes the bus\'s TLS certificates with it'], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (r.status === 0 && opensslAvailable()) return;
  // Exit code 2, as for a missing nats-server: the user's to install.
  throw new InputError('openssl is not installed and could not be installed here: `sudo apt-get install -y openssl` (Debian/Ubuntu), `brew install openssl` (macOS), then `koubou init` again', { code: 'OPENSSL_MISSING' });
}
