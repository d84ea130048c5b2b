/**
 * TLS on the bus with real parts: certificates made as `koubou init` makes them (openssl), a real
 * nats-server from the repo's nats-tls.conf, clients that verify it with the CA, and every way
 * that verification must fail: no CA, another CA, a name the certificate does not hold, a
 * server without TLS when a CA is given. And a 3-node cluster from nats-cluster-tls.conf.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { connect as tlsConnect } from 'node:tls';
import { repoPath } from '../src/core/repoPath.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  busTlsFiles, connectBus, generateCredentials, makeBusCertificates, NatsCluster, serverConfFile, TLS_CA_VAR,
} from '../src/bus/index.ts';
import { KoubouError } from '../src/core/errors.ts';
import { startNats, type TestNats } from './support/nats.ts';
import { startTlsNats, tlsProject } from './support/tlsProject.ts';

const project = tlsProject(['DNS:gpu-box.lan', 'IP:192.168.77.20']);
let tls: Awaited<ReturnType<typeof startTlsNats>>;
let plain: TestNats;

beforeAll(async () => {
  tls = await startTlsNats(project.dir);
  plain = await startNats();
}, 30_000);
afterAll(async () => {
  await tls?.server.stop({ clean: true });
  await plain?.stop();
});

/**
 * The INFO line a node's route port sends, as JSON, to a TLS client that shows the nodes'
 * certificate (a route is verified both ways); it only answers once TLS is up.
 */
const routeInfo = (port: number) => new Promise<Record<string, unknown>>((resolve, reject) => {
  const f = busTlsFiles(project.dir);
  const socket = tlsConnect({ port, host: '127.0.0.1', ca: readFileSync(f.caCert), cert: readFileSync(f.serverCert), key: readFileSync(f.serverKey) });
  let text = '';
  socket.on('data', (d) => {
    text += d.toString();
    const line = /^INFO (.*)\r\n/.exec(text);
    if (line) { socket.destroy(); resolve(JSON.parse(line[1]!)); }
  });
  socket.on('error', reject);
});

const failure = async (p: Promise<unknown>): Promise<KoubouError> => {
  const e = await p.then(() => null, (err: unknown) => err);
  expect(e).toBeInstanceOf(KoubouError);
  return e as KoubouError;
};

describe('the certificates koubou init makes', () => {
  it('a CA and a server certificate for loopback, this host and the names asked for; keys mode 600', () => {
    const f = busTlsFiles(project.dir);
    for (const key of [f.caKey, f.serverKey]) expect(statSync(key).mode & 0o777).toBe(0o600);
    const ca = new X509Certificate(readFileSync(f.caCert));
    const server = new X509Certificate(readFileSync(f.serverCert));
    expect(ca.ca).toBe(true);
    expect(server.checkIssued(ca)).toBe(true);
    expect(server.subjectAltName).toMatch(/DNS:localhost/);
    expect(server.subjectAltName).toMatch(/IP Address:127\.0\.0\.1/);
    expect(server.subjectAltName).toMatch(/DNS:gpu-box\.lan/);
    expect(server.subjectAltName).toMatch(/IP Address:192\.168\.77\.20/);
  });

  it('kept when nothing new is asked; a new LAN name re-issues the server certificate under the same CA, keeping the old names', () => {
    const f = busTlsFiles(project.dir);
    const before = { ca: readFileSync(f.caCert, 'utf8'), server: readFileSync(f.serverCert, 'utf8') };
    expect(makeBusCertificates(project.dir, ['DNS:gpu-box.lan']).wrote).toEqual([]);
    expect(readFileSync(f.serverCert, 'utf8')).toBe(before.server);
    const again = makeBusCertificates(project.dir, ['IP:192.168.77.21']);
    expect(again.wrote).toEqual(['server']);
    expect(readFileSync(f.caCert, 'utf8')).toBe(before.ca);
    const san = new X509Certificate(readFileSync(f.serverCert)).subjectAltName;
    expect(san).toMatch(/IP Address:192\.168\.77\.21/);
    expect(san).toMatch(/DNS:gpu-box\.lan/);
  });

  it('the project decides the conf: nats-tls.conf with certificates, nats.conf without', () => {
    expect(serverConfFile('single', project.dir)).toMatchObject({ tls: true, configFile: expect.stringMatching(/nats-tls\.conf$/) });
    expect(serverConfFile('cluster', project.dir)).toMatchObject({ tls: true, configFile: expect.stringMatching(/nats-cluster-tls\.conf$/) });
    expect(serverConfFile('single', '/nonexistent')).toMatchObject({ tls: false, configFile: expect.stringMatching(/nats\.conf$/) });
  });
});

describe('a client of the TLS bus', () => {
  it('with the CA: connects encrypted as its role, and messages go through', async () => {
    expect(tls.server.url).toMatch(/^tls:\/\/127\.0\.0\.1:\d+$/);
    const nc = await connectBus({ url: tls.server.url, role: 'router', env: tls.env });
    try {
      expect(nc.info?.tls_required).toBe(true);
      const sub = nc.subscribe('koubou.tls.probe', { max: 1 });
      nc.publish('koubou.tls.probe', 'over TLS');
      for await (const m of sub) expect(m.string()).toBe('over TLS');
    } finally {
      await nc.close();
    }
  });

  it('without a CA: the server\'s certificate is not trusted, and the error says what to give', async () => {
    const { [TLS_CA_VAR]: _ca, ...noCa } = tls.env;
    for (const url of [tls.server.url, tls.server.url.replace('tls://', 'nats://')]) {
      const e = await failure(connectBus({ url, role: 'local_worker', env: noCa }));
      expect(e.code).toBe('NATS_TLS_FAILED');
      expect(e.message).toMatch(/self[- ]signed|unable to verify|certificate/i);
      expect(e.message).toContain(`could not be verified with the system's CAs (no ${TLS_CA_VAR} given)`);
    }
  });

  it('with another CA: refused, naming that CA file', async () => {
    const other = tlsProject();
    const e = await failure(connectBus({ url: tls.server.url, role: 'local_worker', env: { ...tls.env, [TLS_CA_VAR]: other.caCert } }));
    expect(e.code).toBe('NATS_TLS_FAILED');
    expect(e.retryable).toBe(false);
    expect(e.message).toContain(`could not be verified with the CA in ${other.caCert}`);
  });

  it('with a CA file that is not there: refused before connecting, naming the file', async () => {
    const e = await failure(connectBus({ url: tls.server.url, role: 'local_worker', env: { ...tls.env, [TLS_CA_VAR]: '/nonexistent/ca.pem' } }));
    expect(e.code).toBe('NATS_TLS_FAILED');
    expect(e.message).toMatch(/KOUBOU_NATS_TLS_CA names \/nonexistent\/ca\.pem, which does not exist/);
  });

  it('at an address the certificate does not hold: refused (the name is checked, not only the CA)', async () => {
    // 127.0.0.2 reaches the same server (it listens on every address) but is not in the certificate.
    const e = await failure(connectBus({ url: `tls://127.0.0.2:${tls.server.port}`, role: 'local_worker', env: tls.env }));
    expect(e.code).toBe('NATS_TLS_FAILED');
    expect(e.message).toMatch(/127\.0\.0\.2/);
    expect(e.message).toMatch(/altnames|not in the cert|IP: 127\.0\.0\.2/i);
  });

  it('given a CA, a server without TLS is refused rather than spoken to in cleartext', async () => {
    const e = await failure(connectBus({ url: plain.url, role: 'submitter', env: { ...plain.env, [TLS_CA_VAR]: project.caCert } }));
    expect(e.code).toBe('NATS_TLS_FAILED');
    expect(e.message).toMatch(/does not use TLS/);
    const e2 = await failure(connectBus({ url: plain.url.replace('nats://', 'tls://'), role: 'submitter', env: plain.env }));
    expect(e2.message).toMatch(/does not use TLS/);
  });
});

describe('a cluster from nats-cluster-tls.conf', () => {
  it('gives nats-cluster.conf\'s cluster block again, the same but for its tls line (a block given again replaces the first)', () => {
    const block = (file: string) => /^cluster \{\n([\s\S]*?)^\}/m.exec(readFileSync(repoPath(file), 'utf8'))![1]!.split('\n')
      .map((l) => l.replace(/#.*$/, '').trim()).filter((l) => l && !l.startsWith('tls '));
    expect(block('nats-cluster-tls.conf')).toEqual(block('nats-cluster.conf'));
    expect(readFileSync(repoPath('nats-cluster-tls.conf'), 'utf8')).toMatch(/^cluster \{[\s\S]*^ {2}tls \{ include "nats-tls-files\.conf" \}/m);
  });

  it('forms over TLS routes (a stream with a copy on each of 3 nodes) and takes TLS clients', async () => {
    const env = { ...generateCredentials(), [TLS_CA_VAR]: project.caCert };
    const conf = serverConfFile('cluster', project.dir);
    // start() waits for a 3-replica stream: the routes between the nodes work, and they are TLS-only.
    const cluster = await NatsCluster.start({ configFile: conf.configFile, cwd: project.dir, tls: conf.tls, env });
    try {
      expect(cluster.url.split(',')).toHaveLength(3);
      expect(cluster.url).toMatch(/^tls:\/\//);
      const nc = await connectBus({ url: cluster.url, role: 'router', env });
      expect(nc.info?.tls_required).toBe(true);
      expect(nc.info?.cluster).toBe('koubou');
      await nc.close();
      // Each node's route port speaks TLS (and says TLS is required there).
      for (const port of cluster.routePorts) expect(await routeInfo(port)).toMatchObject({ tls_required: true });
    } finally {
      await cluster.stop({ kill: true });
    }
  }, 60_000);
});
