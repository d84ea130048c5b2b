/**
 * A project directory with the bus's certificates, as `koubou init` makes them (in a temp
 * directory, fresh keys each run), and a real nats-server started from the repo's TLS conf in it.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  busTlsFiles, generateCredentials, makeBusCertificates, NatsServerProcess, serverConfFile, TLS_CA_VAR, type ServerName,
} from '../../src/bus/index.ts';

/** A temp project with a local CA and a server certificate that also holds `extraNames`. */
export function tlsProject(extraNames: ServerName[] = []): { dir: string; caCert: string } {
  const dir = mkdtempSync(join(tmpdir(), 'koubou-tls-'));
  makeBusCertificates(dir, extraNames);
  return { dir, caCert: busTlsFiles(dir).caCert };
}

/** nats-server from nats-tls.conf, run in `projectDir`, with fresh passwords; `env` also names the CA. */
export async function startTlsNats(projectDir: string, opts: { port?: number; prefix?: string[]; host?: string } = {}) {
  const creds = generateCredentials();
  const conf = serverConfFile('single', projectDir);
  if (!conf.tls) throw new Error(`no certificates in ${projectDir}`);
  const server = await NatsServerProcess.start({ configFile: conf.configFile, cwd: projectDir, tls: true, env: creds, ...opts });
  return { server, env: { ...creds, [TLS_CA_VAR]: busTlsFiles(projectDir).caCert } };
}
