import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { KoubouError } from '../../core/errors.ts';
import { busTlsFiles, type BusTlsFiles } from './busTlsFiles.ts';
import { defaultServerNames, namesOfSubjectAltName, type ServerName } from './serverNames.ts';

export interface BusCertificates {
  files: BusTlsFiles;
  /** Every name the server certificate holds. */
  names: ServerName[];
  /** What this call wrote: 'ca', 'server' (a new or re-issued server certificate). */
  wrote: ('ca' | 'server')[];
}

/** Whether the openssl command is there (Debian's `openssl` package). */
export function opensslAvailable(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Makes (or keeps) the bus's local CA and server certificate under `projectDir/.koubou/tls`:
 * keys are made with node:crypto and written mode 600, certificates are signed with openssl.
 * An existing CA is kept (LAN hosts already trust it). The server certificate is kept when it
 * already holds every wanted name and was signed by this CA; otherwise it is issued again with
 * its old names, the defaults (loopback, this host's name and addresses) and `extraNames`.
 *
 * @throws KoubouError OPENSSL_FAILED when openssl refuses.
 * @example
 * const certs = makeBusCertificates('/srv/koubou', ['DNS:gpu-box', 'IP:192.168.1.20']);
 * certs.names; // ['DNS:localhost', 'IP:127.0.0.1', ..., 'DNS:gpu-box', 'IP:192.168.1.20']
 */
export function makeBusCertificates(projectDir: string, extraNames: ServerName[] = []): BusCertificates {
  const files = busTlsFiles(projectDir);
  mkdirSync(dirname(files.caCert), { recursive: true, mode: 0o700 });
  const wrote: BusCertificates['wrote'] = [];
  if (!existsSync(files.caCert) || !existsSync(files.caKey)) {
    writeKey(files.caKey);
    openssl(['req', '-x509', '-new', '-key', files.caKey, '-out', files.caCert, '-days', '3650', '-subj', '/CN=koubou local CA',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
    wrote.push('ca');
  }
  const ca = new X509Certificate(readFileSync(files.caCert));
  const current = existsSync(files.serverCert) && existsSync(files.serverKey) ? new X509Certificate(readFileSync(files.serverCert)) : null;
  const had = current ? namesOfSubjectAltName(current.subjectAltName) : [];
  const names = [...new Set([...had, ...defaultServerNames(), ...extraNames])];
  const stillGood = current !== null && current.checkIssued(ca) && current.verify(ca.publicKey) && names.every((n) => had.includes(n));
  if (!stillGood) {
    issueServerCertificate(files, names);
    wrote.push('server');
  }
  return { files, names, wrote };
}

function issueServerCertificate(files: BusTlsFiles, names: ServerName[]): void {
  const work = mkdtempSync(join(dirname(files.serverCert), '.issue-'));
  try {
    const csr = join(work, 'server.csr');
    const ext = join(work, 'server.ext');
    writeKey(files.serverKey);
    openssl(['req', '-new', '-key', files.serverKey, '-subj', '/CN=koubou nats-server', '-out', csr]);
    // clientAuth too: between the nodes of a cluster each side of a route shows this certificate.
    writeFileSync(ext, [
      `subjectAltName=${names.join(',')}`, 'extendedKeyUsage=serverAuth,clientAuth',
      'keyUsage=critical,digitalSignature,keyEncipherment', 'basicConstraints=critical,CA:FALSE', '',
    ].join('\n'));
    openssl(['x509', '-req', '-in', csr, '-CA', files.caCert, '-CAkey', files.caKey, '-set_serial', `0x${randomBytes(12).toString('hex')}`,
      '-days', '825', '-extfile', ext, '-out', files.serverCert]);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** A fresh P-256 key, written mode 600 from the start. */
function writeKey(file: string): void {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  rmSync(file, { force: true });
  writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  chmodSync(file, 0o600);
}

function openssl(args: string[]): void {
  try {
    execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const stderr = (e as { stderr?: Buffer }).stderr?.toString().trim();
    throw new KoubouError('OPENSSL_FAILED', `openssl ${args[0]} failed: ${stderr || (e as Error).message}`, { cause: e });
  }
}
