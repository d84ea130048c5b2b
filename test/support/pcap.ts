/**
 * The TCP payloads of a capture file (`tcpdump -w`, classic pcap, Ethernet frames, IPv4), each
 * connection's bytes joined in capture order: what a listener on the link could read, with text
 * that TCP split across segments whole again.
 */
import { readFileSync } from 'node:fs';

export interface PcapPayloads {
  packets: number;
  /** Every TCP connection's payload, one direction each, keyed `src:port>dst:port`. */
  flows: Map<string, Buffer>;
}

export function readPcapPayloads(file: string): PcapPayloads {
  const buf = readFileSync(file);
  const magic = buf.readUInt32LE(0);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  if (!le && buf.readUInt32BE(0) !== 0xa1b2c3d4 && buf.readUInt32BE(0) !== 0xa1b23c4d) throw new Error(`${file} is not a pcap file`);
  const u32 = (at: number) => (le ? buf.readUInt32LE(at) : buf.readUInt32BE(at));
  if (u32(20) !== 1) throw new Error(`${file}: link type ${u32(20)}, expected Ethernet (1)`);
  const chunks = new Map<string, Buffer[]>();
  let packets = 0;
  for (let at = 24; at + 16 <= buf.length;) {
    const len = u32(at + 8);
    const frame = buf.subarray(at + 16, at + 16 + len);
    at += 16 + len;
    packets++;
    if (frame.length < 34 || frame.readUInt16BE(12) !== 0x0800) continue;
    const ip = frame.subarray(14);
    if (ip[9] !== 6) continue;
    const ihl = (ip[0]! & 0x0f) * 4;
    const total = ip.readUInt16BE(2);
    const tcp = ip.subarray(ihl, total);
    const payload = tcp.subarray((tcp[12]! >> 4) * 4);
    if (payload.length === 0) continue;
    const key = `${ip.subarray(12, 16).join('.')}:${tcp.readUInt16BE(0)}>${ip.subarray(16, 20).join('.')}:${tcp.readUInt16BE(2)}`;
    (chunks.get(key) ?? chunks.set(key, []).get(key)!).push(Buffer.from(payload));
  }
  return { packets, flows: new Map([...chunks].map(([k, v]) => [k, Buffer.concat(v)])) };
}
