import { isIP } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';
import { InputError } from '../../core/errors.ts';

/** A name or address a server certificate holds, as in subjectAltName: `DNS:gpu-box` or `IP:10.0.0.5`. */
export type ServerName = `DNS:${string}` | `IP:${string}`;

const DNS_NAME = /^(?=.{1,253}$)([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/**
 * A host name or IP address given by the user (`koubou init --tls-host`), as a certificate name.
 *
 * @throws InputError naming the value and `where` when it is neither.
 * @example
 * serverName('192.168.1.10'); // 'IP:192.168.1.10'
 * serverName('gpu-box.lan');  // 'DNS:gpu-box.lan'
 */
export function serverName(value: string, where = '--tls-host'): ServerName {
  const v = value.trim();
  if (isIP(v)) return `IP:${v}`;
  if (DNS_NAME.test(v)) return `DNS:${v.toLowerCase()}`;
  throw new InputError(`${where}: ${JSON.stringify(value)} is neither an IP address nor a host name (letters, digits, - and dots)`);
}

/**
 * The names a server certificate of this host always holds: loopback (localhost, 127.0.0.1,
 * ::1), the host's name, and every address of its network interfaces (what LAN hosts dial).
 */
export function defaultServerNames(): ServerName[] {
  const names: ServerName[] = ['DNS:localhost', 'IP:127.0.0.1', 'IP:::1'];
  const host = hostname();
  if (DNS_NAME.test(host)) names.push(`DNS:${host.toLowerCase()}`);
  for (const addresses of Object.values(networkInterfaces())) {
    for (const a of addresses ?? []) {
      // A link-local IPv6 address needs its interface to be dialled: no client names it.
      if (!a.internal && !(a.family === 'IPv6' && a.address.startsWith('fe80:'))) names.push(`IP:${a.address}`);
    }
  }
  return [...new Set(names)];
}

/** The names in a certificate's subjectAltName as Node prints it (`DNS:a, IP Address:10.0.0.5`). */
export function namesOfSubjectAltName(san: string | undefined): ServerName[] {
  return (san ?? '').split(/,\s*/).flatMap((entry): ServerName[] => {
    const m = /^(DNS|IP Address):(.+)$/.exec(entry.trim());
    if (!m) return [];
    return m[1] === 'DNS' ? [`DNS:${m[2]!.toLowerCase()}`] : [`IP:${normalizeIp(m[2]!)}`];
  });
}

/** Node prints ::1 as 0:0:0:0:0:0:0:1 in a certificate: one spelling per address. */
function normalizeIp(ip: string): string {
  if (!ip.includes(':')) return ip;
  try {
    return new URL(`http://[${ip}]/`).hostname.slice(1, -1);
  } catch {
    return ip;
  }
}
