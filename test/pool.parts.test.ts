/**
 * The pure parts of the LAN pool: placement by priority, the registry of
 * peers, performance factors, pool scaling, and a host's health with cool-down.
 */
import { describe, expect, it } from 'vitest';
import { HostHealth } from '../actors/worker/HostHealth.ts';
import type { Heartbeat } from '../src/bus/index.ts';
import { loadConfig } from '../src/config/index.ts';
import { ProviderFailure } from '../src/llm/errors.ts';
import type { Provider } from '../src/llm/Provider.ts';
import { performanceFactors } from '../src/pool/performance.ts';
import { laneFor } from '../src/pool/placement.ts';
import { desiredWorkers } from '../src/pool/scaling.ts';
import { WorkerRegistry } from '../src/pool/WorkerRegistry.ts';
import { sleep, until } from './support/util.ts';

const rules = loadConfig({ env: {} }).routing_policy.rules;

describe('laneFor', () => {
  it('places by the default rules: 8-10 local, 5-7 either, 1-4 remote', () => {
    expect([10, 9, 8].map((p) => laneFor(p, rules).lane)).toEqual(['local', 'local', 'local']);
    expect([7, 6, 5].map((p) => laneFor(p, rules).lane)).toEqual(['any', 'any', 'any']);
    expect([4, 3, 2, 1].map((p) => laneFor(p, rules).lane)).toEqual(['remote', 'remote', 'remote', 'remote']);
    expect(laneFor(9, rules).reason).toMatch(/^priority 9 in \[8, 10\]: high-priority work/);
  });

  it('takes the first rule that holds the priority, and the shared lane when none does', () => {
    const custom = [
      { priority_range: [1, 10] as [number, number], preferred_workers: ['remote' as const], reason: 'all remote' },
      { priority_range: [5, 5] as [number, number], preferred_workers: ['local' as const], reason: 'never reached' },
    ];
    expect(laneFor(5, custom).lane).toBe('remote');
    expect(laneFor(5, [])).toEqual({ lane: 'any', reason: expect.stringMatching(/no routing_policy rule/) });
  });
});

const hb = (over: Partial<Heartbeat>): Heartbeat => ({
  workerId: 'w', tier: 'local', status: 'idle', location: 'remote', host: 'h', endpoint: 'http://h:11434', model: 'gpt-oss:20b',
  capabilities: [], maxConcurrent: 2, currentTasks: [], load: 0, pid: 1, at: new Date().toISOString(), ...over,
});

describe('WorkerRegistry', () => {
  it('counts a worker available while it is heard from, healthy and has a free slot', () => {
    const peers = new WorkerRegistry({ heartbeatMs: 1000 });
    peers.observe(hb({ workerId: 'r1', status: 'busy', currentTasks: ['a'] }), 0);
    expect(peers.anyAvailable('remote', undefined, 100)).toBe(true);
    peers.observe(hb({ workerId: 'r1', status: 'busy', currentTasks: ['a', 'b'] }), 200);
    expect(peers.anyAvailable('remote', undefined, 300)).toBe(false);
    peers.observe(hb({ workerId: 'r1', status: 'error' }), 400);
    expect(peers.anyAvailable('remote', undefined, 500)).toBe(false);
    peers.observe(hb({ workerId: 'r1' }), 600);
    expect(peers.anyAvailable('remote', undefined, 700)).toBe(true);
    expect(peers.anyAvailable('remote', undefined, 600 + 3001)).toBe(false);
  });

  it('leaves out the asking worker, other tiers, the other location and offline workers', () => {
    const peers = new WorkerRegistry();
    peers.observe(hb({ workerId: 'me' }));
    peers.observe(hb({ workerId: 'cloud', tier: 'gpt5_high' }));
    peers.observe(hb({ workerId: 'l1', location: 'local', performanceFactor: 1.5 }));
    expect(peers.anyAvailable('remote', 'me')).toBe(false);
    expect(peers.anyAvailable('local', 'me')).toBe(true);
    expect(peers.fastestAvailable('me')).toBe(1.5);
    peers.observe(hb({ workerId: 'l1', location: 'local', status: 'offline' }));
    expect(peers.fastestAvailable('me')).toBe(null);
  });
});

describe('performanceFactors', () => {
  const s = (workerId: string, location: string, tasks: number, tokens: number, executionTimeMs: number) => ({ workerId, location, tasks, tokens, executionTimeMs });

  it('is each worker\'s token speed over the local workers\' combined speed, clamped to 0.1-2.0', () => {
    const f = performanceFactors([
      s('local_001', 'local', 10, 2000, 10_000), s('local_002', 'local', 10, 2000, 10_000),
      s('lan_a', '192.168.1.100', 5, 1000, 10_000), s('lan_b', '192.168.1.101', 5, 9000, 10_000), s('lan_c', 'x', 5, 10, 10_000),
    ]);
    expect(Object.fromEntries(f)).toEqual({ local_001: 1, local_002: 1, lan_a: 0.5, lan_b: 2, lan_c: 0.1 });
  });

  it('judges speed by tokens, not by how long mixed-size tasks took', () => {
    // The LAN host ran short tasks: a smaller average time, yet half the speed.
    const f = performanceFactors([s('local_001', 'local', 4, 4000, 20_000), s('lan', 'h', 4, 500, 5_000)]);
    expect(f.get('lan')).toBe(0.5);
  });

  it('needs min_samples per worker and a measured local baseline', () => {
    expect(performanceFactors([s('lan', 'h', 9, 900, 9000)]).size).toBe(0);
    const f = performanceFactors([s('local_001', 'local', 3, 300, 3000), s('lan', 'h', 2, 100, 2000)], { minSamples: 3 });
    expect([...f.keys()]).toEqual(['local_001']);
  });

  it('falls back to tasks per time when a backend reports no tokens', () => {
    const f = performanceFactors([s('local_001', 'local', 4, 0, 4000), s('lan', 'h', 4, 0, 8000)]);
    expect(f.get('lan')).toBe(0.5);
  });
});

describe('desiredWorkers', () => {
  const base = { pending: 0, inFlight: 0, current: 1, min: 1, max: 5, perWorker: 2, idleForMs: 0, scaleDownIdleMs: 30_000 };
  it('grows at once to cover waiting and running work, up to max', () => {
    expect(desiredWorkers({ ...base, pending: 3, inFlight: 2 })).toBe(3);
    expect(desiredWorkers({ ...base, pending: 40 })).toBe(5);
  });
  it('shrinks one at a time, only after the queue has been empty long enough, never below min or the work in flight', () => {
    expect(desiredWorkers({ ...base, current: 4, idleForMs: 29_000 })).toBe(4);
    expect(desiredWorkers({ ...base, current: 4, idleForMs: 30_000 })).toBe(3);
    expect(desiredWorkers({ ...base, current: 4, inFlight: 8, idleForMs: 60_000 })).toBe(4);
    expect(desiredWorkers({ ...base, current: 4, inFlight: 6, idleForMs: 60_000 })).toBe(3);
    expect(desiredWorkers({ ...base, current: 1, idleForMs: 60_000 })).toBe(1);
    expect(desiredWorkers({ ...base, current: 0, min: 0, idleForMs: 60_000 })).toBe(0);
  });
});

/** A model server that answers as `up` says. */
function flakyProvider(): Provider & { up: boolean; checks: number } {
  return {
    name: 'ollama', up: true, checks: 0,
    async generate() { throw new Error('not used'); },
    async health() {
      this.checks += 1;
      if (!this.up) throw new ProviderFailure('UNREACHABLE', 'connect ECONNREFUSED 127.0.0.1:11434');
      return { ok: true as const, version: '0.12.6', latencyMs: 3 };
    },
  };
}

describe('HostHealth', () => {
  it('cools a failing host down, checks it again with back-off, and brings it back by itself', async () => {
    const provider = flakyProvider();
    let changes = 0;
    const health = new HostHealth({ provider, model: 'gpt-oss:20b', checkEveryMs: 60_000, cooldownInitialMs: 40, cooldownMaxMs: 160, onChange: () => { changes += 1; } });
    await health.check();
    health.start();
    expect(health.healthy).toBe(true);
    expect(health.report).toMatchObject({ ok: true, version: '0.12.6', latencyMs: 3, error: null });
    provider.up = false;
    health.failed('UNREACHABLE: connection reset');
    expect(health.healthy).toBe(false);
    expect(health.report).toMatchObject({ ok: false, error: 'UNREACHABLE: connection reset', retryAt: expect.any(String) });
    const before = provider.checks;
    await sleep(40 + 80 + 160 + 100);
    // Checked at 40, 80 and 160 ms intervals (doubling, capped): three or four more checks, not dozens.
    expect(provider.checks - before).toBeGreaterThanOrEqual(3);
    expect(provider.checks - before).toBeLessThanOrEqual(5);
    expect(health.healthy).toBe(false);
    provider.up = true;
    await until(() => health.healthy, 2000);
    expect(health.report).toMatchObject({ ok: true, retryAt: null });
    expect(changes).toBeGreaterThan(2);
    health.stop();
  });

  it('keeps its back-off when failures pile up while it is cooling down', () => {
    const provider = flakyProvider();
    const health = new HostHealth({ provider, model: 'm', cooldownInitialMs: 10_000 });
    health.failed('first');
    const retryAt = health.report!.retryAt;
    health.failed('second');
    expect(health.report!.retryAt).toBe(retryAt);
    expect(health.report!.error).toBe('first');
  });
});
