import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { DOOR_KEY_VAR, loadOrCreateCredentials, ROLES, passwordVar } from '../../bus/index.ts';
import { initTls } from '../initTls.ts';
import { CREDENTIALS_FILE } from '../natsContext.ts';

export function registerInit(program: Command): void {
  program
    .command('init')
    .description(`generate NATS credentials for every role in ${CREDENTIALS_FILE} (mode 600) and the bus's TLS certificates in .koubou/tls; keeps existing ones`)
    .option('--tls-host <name>', 'a LAN name or IP address the bus\'s TLS certificate must also hold (repeatable; loopback, this host\'s name and addresses are always in)',
      (v: string, all: string[]) => [...all, v], [] as string[])
    .action((opts: { tlsHost: string[] }) => {
      const file = resolve(CREDENTIALS_FILE);
      const before = existsSync(file) ? readFileSync(file, 'utf8') : null;
      loadOrCreateCredentials(file);
      const added = before === null ? null : readFileSync(file, 'utf8').slice(before.length).split('\n').map((l) => l.split('=')[0]).filter(Boolean);
      console.log(before === null ? `wrote ${file}` : `kept ${file}${added!.length ? ` (added ${added!.join(', ')})` : ''}`);
      console.log(`roles: ${ROLES.join(', ')} (variables ${passwordVar('router')} ...)`);
      console.log('nats-server reads them from the environment:  set -a; . .koubou/credentials.env; set +a; nats-server -c nats.conf');
      console.log('give a LAN worker only its own role\'s variable, e.g. KOUBOU_NATS_LOCAL_WORKER_PASSWORD');
      for (const line of initTls(process.cwd(), opts.tlsHost)) console.log(line);
      console.log(`${DOOR_KEY_VAR} seals the gateway's submissions: give it to the gateway and the routers only`);
    });
}
