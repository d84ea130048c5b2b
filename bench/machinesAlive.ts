/** Child of `npm run bench routing`: 10,000 live task machines in a process of their own; prints JSON. */
import { machinesAlive } from './routing.ts';

console.log(JSON.stringify(await machinesAlive(Number(process.argv[2] ?? 10_000))));
process.exit(0);
