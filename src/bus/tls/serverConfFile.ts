import { repoPath } from '../../core/repoPath.ts';
import { busTlsPresent } from './busTlsFiles.ts';

/** How a project's nats-server is started: which of the repo's confs, and whether clients must use TLS. */
export interface ServerConf {
  /** nats.conf / nats-cluster.conf, or their TLS versions nats-tls.conf / nats-cluster-tls.conf. */
  configFile: string;
  /** True with the TLS versions: the server must run in `projectDir` (the certificates' paths are relative to it). */
  tls: boolean;
  projectDir: string;
}

/**
 * The conf a server of this project starts from: the TLS version when `koubou init` made
 * certificates in `projectDir/.koubou/tls`, else the cleartext one.
 *
 * @example
 * const conf = serverConfFile('single', process.cwd());
 * await NatsServerProcess.start({ configFile: conf.configFile, cwd: conf.projectDir, tls: conf.tls, env });
 */
export function serverConfFile(kind: 'single' | 'cluster', projectDir: string): ServerConf {
  const tls = busTlsPresent(projectDir);
  const name = kind === 'single' ? (tls ? 'nats-tls.conf' : 'nats.conf') : tls ? 'nats-cluster-tls.conf' : 'nats-cluster.conf';
  return { configFile: repoPath(name), tls, projectDir };
}
