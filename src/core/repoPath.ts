/**
 * Paths inside koubou's own installation (config defaults, nats.conf, the launcher, the
 * dashboard's static files), the same whether the code runs from its TypeScript sources
 * or from the compiled copy in `dist/`, which sits one directory deeper.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    // The installation's root holds package.json and the launcher; dist/ holds neither.
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'bin', 'koubou.js'))) return dir;
    if (dirname(dir) === dir) throw new Error(`koubou: cannot find its installation above ${start}`);
  }
}

/** The directory of koubou's installation (where package.json and bin/koubou.js are). */
export const REPO_ROOT = findRoot(dirname(fileURLToPath(import.meta.url)));

/**
 * A path inside koubou's installation.
 *
 * @example
 * repoPath('config', 'koubou.yaml'); // '/opt/koubou/config/koubou.yaml'
 */
export function repoPath(...parts: string[]): string {
  return join(REPO_ROOT, ...parts);
}
