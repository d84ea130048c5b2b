import { spawnSync } from 'node:child_process';
import { NatsServerMissingError, NatsServerProcess } from '../bus/NatsServerProcess.ts';
import { repoPath } from '../core/repoPath.ts';

/**
 * Makes sure `nats-server` is there before `koubou up` starts one: when it is missing, the
 * install routine that scripts/test uses (scripts/ensure-deps.sh) installs it from Debian's
 * packages, as root or with passwordless sudo, saying what and why.
 *
 * @throws NatsServerMissingError (exit code 2) when it cannot be installed here or the install failed.
 */
export function ensureNatsServer(why: string): void {
  if (NatsServerProcess.available()) return;
  const r = spawnSync('/bin/bash', [repoPath('scripts', 'ensure-deps.sh'), 'debian-package', 'nats-server', 'nats-server', why], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, KOUBOU_QUIET_MISSING: '1' },
  });
  if (r.status === 0 && NatsServerProcess.available()) return;
  if (r.status === 1) throw new NatsServerMissingError('installing it with apt-get failed (its output is above)');
  throw new NatsServerMissingError(r.error ? undefined : 'cannot be installed here (not Debian/Ubuntu, or neither root nor passwordless sudo)');
}
