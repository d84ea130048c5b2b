/**
 * The tasks `koubou up --demo` submits, phase by phase, so that together they
 * walk every branch of the routing diagram: sensitivity, difficulty, budget and
 * rate limits.
 */
import type { TaskFile } from '../core/types.ts';

/** One sample task and where the routing should send it. */
export interface DemoSample {
  /** Row name in the table (also in the task id). */
  label: string;
  prompt: string;
  files?: TaskFile[];
  /** What the table's reader should see, e.g. `local` or `gpt5_high, or a fallback`. */
  expect: string;
}

/** A group of samples submitted together; each phase starts when the previous one has ended. */
export interface DemoPhase {
  name: string;
  /** One line printed before the phase runs. */
  intro: string;
  samples: DemoSample[];
  /** Hold the month's budget above its alert threshold while this phase runs. */
  budgetCritical?: boolean;
}

/**
 * A made-up credential, assembled at run time so that secret scanners reading
 * this repository do not flag it: the sensitivity scanner must, and the task
 * must stay on the local tier.
 */
export const FAKE_PASSWORD = ['s3cr', 'et-D', 'emo-', '9x7Q'].join('');

/**
 * The high tier's simulated rate limit: the burst below is larger on purpose. Four: the master's
 * hard subtask, the architecture and the budget's high task leave at least one for the burst.
 */
export const DEMO_HIGH_RPM = 4;

const BURST_TOPICS = [
  'a lock-free concurrent queue',
  'a distributed consensus protocol for leader election',
  'a scalable sharding architecture',
  'an algorithm for parallel merge of sorted runs',
  'a concurrent cache with a race-condition-free eviction',
  'a distributed rate limiter architecture',
];

/**
 * @example
 * for (const phase of demoPhases()) console.log(phase.name, phase.samples.map((s) => s.label));
 * // content [ 'secret', 'architecture', 'refactor', 'typo' ] …
 */
export function demoPhases(): DemoPhase[] {
  return [
    {
      name: 'content',
      intro: 'routing by content: a secret, an architecture design, a refactor, a typo fix',
      samples: [
        { label: 'secret', prompt: `fix the login bug; the staging db password = "${FAKE_PASSWORD}"`, expect: 'local' },
        { label: 'architecture', prompt: 'design the architecture of a distributed, scalable event pipeline with consensus between regions', expect: 'gpt5_high' },
        { label: 'refactor', prompt: 'refactor the orders module to use dependency injection', files: [{ path: 'src/orders.ts', content: ORDERS_TS }], expect: 'gpt5_medium' },
        { label: 'typo', prompt: 'fix a typo in README.md', files: [{ path: 'README.md', content: '# Ordres service\n\nHandles ordres.\n' }], expect: 'local' },
      ],
    },
    {
      name: 'budget',
      intro: 'budget near its limit (85% of the month held): medium work goes local, high work keeps gpt5_high',
      budgetCritical: true,
      samples: [
        { label: 'budget medium', prompt: 'implement an API endpoint that exports invoices as CSV', expect: 'local' },
        { label: 'budget high', prompt: 'design a distributed job scheduler architecture with consensus on leases', expect: 'gpt5_high' },
      ],
    },
    {
      name: 'burst',
      intro: `a burst of ${BURST_TOPICS.length} hard tasks against gpt5_high's ${DEMO_HIGH_RPM} requests per minute: some fall back`,
      samples: BURST_TOPICS.map((topic, i) => ({
        label: `burst ${i + 1}/${BURST_TOPICS.length}`,
        prompt: `design ${topic} for the scheduler`,
        expect: 'gpt5_high, or a fallback',
      })),
    },
  ];
}

const ORDERS_TS = `import { Database } from './db.ts';

export class Orders {
  private readonly db = new Database(process.env.DB_URL!);

  async place(customerId: string, items: string[]): Promise<string> {
    const id = crypto.randomUUID();
    await this.db.insert('orders', { id, customerId, items });
    return id;
  }
}
`;
