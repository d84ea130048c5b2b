/**
 * Hosts of their own for tests: Linux network namespaces joined by veth pairs to a bridge that
 * lives in a namespace of its own (the LAN's switch), each host with an address that exists only
 * inside these namespaces. Traffic goes between them and nowhere else; `destroy()` removes every
 * namespace (and with them every link) the lab made. Needs root and iproute2.
 *
 * @example
 * const lab = await NetnsLab.create(['master', 'lan1']);
 * lab.ip('master');              // 10.77.x.1
 * lab.exec('lan1');              // ['ip', 'netns', 'exec', 'kb…-lan1'], a command prefix
 * lab.linkDown('lan1');          // the cable pulled
 * lab.netem('lan1', '20ms');     // latency (and loss) on lan1's link
 * await lab.destroy();
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

const run = (args: string[]) => execFileSync(args[0]!, args.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] }).toString();

export class NetnsLab {
  private readonly made: string[] = [];

  private constructor(private readonly prefix: string, private readonly subnet: string, readonly hosts: string[]) {}

  /**
   * Why namespaces cannot be made here, or null when they can: tests print this and skip,
   * so a CI run that could not make them says so instead of passing silently.
   */
  static unavailable(): string | null {
    if (process.getuid?.() !== 0) return 'network namespaces need root';
    if (spawnSync('ip', ['-V'], { stdio: 'ignore' }).status !== 0) return 'iproute2 (`ip`) is not installed';
    const probe = `kbprobe${randomBytes(3).toString('hex')}`;
    const made = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' });
    if (made.status !== 0) return `\`ip netns add\` failed: ${made.stderr.trim()}`;
    spawnSync('ip', ['netns', 'del', probe]);
    return null;
  }

  /** Makes the switch and one namespace per host, in a subnet picked at random (10.77.N.0/24). */
  static async create(hosts: string[]): Promise<NetnsLab> {
    const id = randomBytes(3).toString('hex');
    const lab = new NetnsLab(`kb${id}`, `10.77.${1 + (parseInt(id, 16) % 250)}`, hosts);
    try {
      lab.setUp();
    } catch (e) {
      await lab.destroy();
      throw e;
    }
    return lab;
  }

  private setUp(): void {
    const sw = this.ns('sw');
    this.addNs(sw);
    run(['ip', '-n', sw, 'link', 'add', 'br0', 'type', 'bridge']);
    run(['ip', '-n', sw, 'link', 'set', 'br0', 'up']);
    this.hosts.forEach((host, i) => {
      const ns = this.ns(host);
      this.addNs(ns);
      // Both ends are made in the host's namespace, then one is moved to the switch.
      run(['ip', '-n', ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', `p${i}`]);
      run(['ip', '-n', ns, 'link', 'set', `p${i}`, 'netns', sw]);
      run(['ip', '-n', sw, 'link', 'set', `p${i}`, 'master', 'br0', 'up']);
      run(['ip', '-n', ns, 'addr', 'add', `${this.ip(host)}/24`, 'dev', 'eth0']);
      run(['ip', '-n', ns, 'link', 'set', 'eth0', 'up']);
      run(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    });
  }

  private addNs(name: string): void {
    run(['ip', 'netns', 'add', name]);
    this.made.push(name);
  }

  private ns(host: string): string {
    return `${this.prefix}-${host}`;
  }

  /** The host's address on the lab's LAN. */
  ip(host: string): string {
    const i = this.hosts.indexOf(host);
    if (i < 0) throw new Error(`no host ${host} in this lab`);
    return `${this.subnet}.${i + 1}`;
  }

  /** A command prefix that runs a program on `host`. */
  exec(host: string): string[] {
    return ['ip', 'netns', 'exec', this.ns(host)];
  }

  /** Pulls the host's cable: its link to the switch goes down. */
  linkDown(host: string): void {
    run(['ip', '-n', this.ns(host), 'link', 'set', 'eth0', 'down']);
  }

  linkUp(host: string): void {
    run(['ip', '-n', this.ns(host), 'link', 'set', 'eth0', 'up']);
  }

  /** Whether this kernel has tc's netem qdisc (some container kernels do not). */
  netemAvailable(): boolean {
    const host = this.ns(this.hosts[0]!);
    const added = spawnSync('tc', ['-n', host, 'qdisc', 'add', 'dev', 'lo', 'root', 'netem', 'delay', '1ms']);
    if (added.status !== 0) return false;
    spawnSync('tc', ['-n', host, 'qdisc', 'del', 'dev', 'lo', 'root']);
    return true;
  }

  /** Adds delay (and loss, e.g. '5%') to everything the host sends; `clearNetem` takes it off. */
  netem(host: string, delay: string, loss?: string): void {
    run(['tc', '-n', this.ns(host), 'qdisc', 'replace', 'dev', 'eth0', 'root', 'netem', 'delay', delay, ...(loss ? ['loss', loss] : [])]);
  }

  clearNetem(host: string): void {
    run(['tc', '-n', this.ns(host), 'qdisc', 'del', 'dev', 'eth0', 'root']);
  }

  /** Removes every namespace the lab made; the veth pairs and the bridge go with them. */
  async destroy(): Promise<void> {
    for (const name of this.made.splice(0).reverse()) spawnSync('ip', ['netns', 'del', name]);
  }
}
