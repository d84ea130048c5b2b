import { existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Where `koubou init` keeps the bus's certificates, relative to the project's directory.
 * nats-tls-files.conf names the same paths (relative to where nats-server runs): keep them alike.
 */
export const TLS_DIR = '.koubou/tls';

/** The variable a client reads the CA's path from (default: .koubou/tls/ca.pem, when there). */
export const TLS_CA_VAR = 'KOUBOU_NATS_TLS_CA';

export interface BusTlsFiles {
  /** The local CA's certificate: public, what every client (and LAN host) verifies the server with. */
  caCert: string;
  /** The CA's private key (mode 600): signs server certificates; never leaves the master. */
  caKey: string;
  /** The server certificate, its names in subjectAltName. */
  serverCert: string;
  /** Its private key (mode 600): on every host that runs nats-server, nowhere else. */
  serverKey: string;
}

/**
 * The certificate files of a project.
 *
 * @example
 * busTlsFiles('/srv/koubou').caCert; // '/srv/koubou/.koubou/tls/ca.pem'
 */
export function busTlsFiles(projectDir: string): BusTlsFiles {
  const dir = join(projectDir, TLS_DIR);
  return { caCert: join(dir, 'ca.pem'), caKey: join(dir, 'ca.key'), serverCert: join(dir, 'server.pem'), serverKey: join(dir, 'server.key') };
}

/**
 * Whether a server started in this project runs with TLS: the one place that decides it (`koubou
 * up`, the tests). True when the server's certificate, its key and the CA are all there.
 */
export function busTlsPresent(projectDir: string): boolean {
  const f = busTlsFiles(projectDir);
  return existsSync(f.serverCert) && existsSync(f.serverKey) && existsSync(f.caCert);
}
