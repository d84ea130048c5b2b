import { existsSync } from 'node:fs';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import { InputError } from '../../core/errors.ts';
import { TLS_CA_VAR } from './busTlsFiles.ts';

/**
 * What nats.js takes as `tls`: the CA file to verify the server with (none: the system's CAs),
 * and the check of the certificate's names (nats.js passes it on to node:tls).
 */
export interface ClientTls {
  caFile?: string;
  checkServerIdentity: (host: string, cert: PeerCertificate) => Error | undefined;
}

/**
 * Whether a client speaks TLS to the bus, and with which CA: the one place that decides it.
 * @throws InputError NATS_TLS_FAILED when the CA file named does not exist.
 * TLS when any URL says `tls://` or a CA is given ($KOUBOU_NATS_TLS_CA): once a CA is known,
 * a server that does not offer TLS is refused rather than spoken to in cleartext.
 *
 * @example
 * clientTls('tls://10.0.0.5:4222', { KOUBOU_NATS_TLS_CA: '/srv/ca.pem' }); // { caFile: '/srv/ca.pem', checkServerIdentity }
 * clientTls('nats://127.0.0.1:4222', {});                                   // undefined: cleartext
 */
export function clientTls(url: string, env: Record<string, string | undefined>): ClientTls | undefined {
  const caFile = env[TLS_CA_VAR]?.trim() || undefined;
  const wantsTls = url.split(',').some((u) => /^\s*tls:\/\//i.test(u));
  if (!wantsTls && !caFile) return undefined;
  if (caFile && !existsSync(caFile)) {
    throw new InputError(`${TLS_CA_VAR} names ${caFile}, which does not exist: copy the master's .koubou/tls/ca.pem there (koubou init makes it)`, { code: 'NATS_TLS_FAILED' });
  }
  const hosts = url.split(',').map(urlHost).filter((h): h is string => h !== null);
  return { ...(caFile ? { caFile } : {}), checkServerIdentity: namedBy(hosts) };
}

/**
 * The server's certificate must hold the host the client dialled. nats.js gives node:tls no
 * server name for an IP address (node then checks "localhost", which every koubou certificate
 * holds), so the names are checked here against the URLs' hosts: one of them, for a cluster's
 * list (its nodes share one certificate that names them all).
 */
function namedBy(hosts: string[]): ClientTls['checkServerIdentity'] {
  return (_host, cert) => {
    let first: Error | undefined;
    for (const host of hosts) {
      const err = checkServerIdentity(host, cert);
      if (!err) return undefined;
      first ??= err;
    }
    return first;
  };
}

function urlHost(u: string): string | null {
  const t = u.trim();
  if (!t) return null;
  try {
    return new URL(t.includes('://') ? t : `nats://${t}`).hostname.replace(/^\[(.*)\]$/, '$1');
  } catch {
    return null;
  }
}

/** A hint for a failed connection that TLS explains, or null when it is not about TLS. */
export function tlsFailureHint(message: string, url: string, tls: ClientTls | undefined): string | null {
  if (/does not support 'tls'|tls.*not available/i.test(message)) {
    return ` (the server at ${url} does not use TLS, but this client requires it${tls?.caFile ? ` because ${TLS_CA_VAR} is set` : ''}: start the server with certificates, \`koubou init\` then \`koubou up\`)`;
  }
  if (/certificate|self[- ]signed|verify|altname|CERT_|SSL|TLS|handshake/i.test(message)) {
    const ca = tls?.caFile ? `the CA in ${tls.caFile}` : `the system's CAs (no ${TLS_CA_VAR} given)`;
    return ` (the server's TLS certificate could not be verified with ${ca}: give this host the master's .koubou/tls/ca.pem as ${TLS_CA_VAR}, and connect by a name or address the certificate holds: \`koubou init --tls-host NAME\` on the master adds one; docs/operations.md, "TLS on the bus")`;
  }
  return null;
}
