/**
 * `npm run bench [name...]`: runs the benchmarks (all by default) and records
 * their figures in docs/benchmarks.md. Names: startup, routing, system, pool, gateway, cluster, routing-quality, secrets.
 */
import { runRoutingBenchmarks } from './routing.ts';
import { runPoolBenchmark } from './pool.ts';
import { runSystemBenchmark } from './system.ts';
import { runStartupBenchmark } from './startup.ts';
import { runGatewayBenchmark } from './gateway.ts';
import { runClusterBenchmark } from './cluster.ts';
import { runRoutingQualityBenchmark } from './routingQuality.ts';
import { runSecretsBenchmark } from './secrets.ts';

const all: Record<string, () => Promise<void>> = {
  startup: runStartupBenchmark, routing: runRoutingBenchmarks, system: runSystemBenchmark, pool: runPoolBenchmark, gateway: runGatewayBenchmark, cluster: runClusterBenchmark,
  'routing-quality': runRoutingQualityBenchmark, secrets: runSecretsBenchmark,
};
const wanted = process.argv.slice(2);
for (const name of wanted.length ? wanted : Object.keys(all)) {
  const run = all[name];
  if (!run) {
    console.error(`unknown benchmark "${name}"; known: ${Object.keys(all).join(', ')}`);
    process.exit(2);
  }
  await run();
}
process.exit(0);
