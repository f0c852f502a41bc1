import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IntakeItem } from '../../connectors/intake';
import { registerAllSchemas } from '../../services/registry/runtime';
import { openRules, type RulesRuntime } from '../../services/rules/runtime';
import { partitionKeys, parseOutboxField } from '../../services/rules/state-store';
import { Random } from '../../services/simulate';
import { agencyRecords } from '../support/person-events';
import {
  deleteKeys,
  drained,
  expectExactlyOnce,
  freshPrefix,
  hubEnv,
  inboundOf,
  publish,
  quietLogger,
  referenceFold,
  sleep,
  waitFor,
  type AgencyItems,
} from '../support/rules-harness';

/**
 * The crash suite: real `hub rules` processes killed with -9 (and stopped with SIGTERM) while facts
 * arrive, with the service's own settings (the 10 s session). Seeded (HUB_CRASH_SEED, printed);
 * CI-sized by default, HUB_CRASH_SUITE=large runs more people and more kills. Every scenario ends
 * with: no event id twice, the last record of every slot equal to a clean reference fold, the state
 * equal to the topics, and no error-level log line from any process.
 */
const large = process.env.HUB_CRASH_SUITE === 'large';
const seed = Number(process.env.HUB_CRASH_SEED ?? 20261127);
const people = large ? 300 : 40;
const kills = large ? 16 : 3;
const hubBin = join(import.meta.dirname, '../../bin/hub.mjs');

const chunk = (records: AgencyItems, i: number, of: number): AgencyItems => {
  const part = (items: IntakeItem[] | undefined): IntakeItem[] =>
    (items ?? []).slice(Math.floor(((items?.length ?? 0) * i) / of), Math.floor(((items?.length ?? 0) * (i + 1)) / of));
  return { civilAffairs: part(records.civilAffairs), hospitals: part(records.hospitals), tax: part(records.tax) };
};

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return typeof address === 'object' && address !== null ? address.port : 0;
}

interface RulesChild {
  readonly process: ChildProcess;
  readonly port: number;
  readonly exited: Promise<number | null>;
}

/** Runs `hub rules` child processes and keeps every log line they write. */
class Children {
  readonly lines: string[] = [];
  private readonly running = new Set<ChildProcess>();
  private started = 0;

  constructor(private readonly env: Record<string, string | undefined>) {}

  async start(args: readonly string[] = []): Promise<RulesChild> {
    this.started += 1;
    const port = await freePort();
    // Odd starts fold on two worker threads, even ones on the main thread: each takes over what the other left.
    const workers = this.started % 2 === 1 ? '2' : '0';
    const env: Record<string, string | undefined> = { ...process.env, ...this.env, HUB_OPS_PORT: String(port), HUB_RULES_WORKERS: workers };
    // The service's own session timeout, not the tests' shorter one: restarts are measured as they will be.
    delete env.HUB_KAFKA_SESSION_TIMEOUT_MS;
    const child = spawn(process.execPath, [hubBin, 'rules', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.running.add(child);
    let rest = '';
    child.stderr?.on('data', (data: Buffer) => {
      const text = rest + data.toString('utf8');
      const parts = text.split('\n');
      rest = parts.pop() ?? '';
      this.lines.push(...parts.filter((line) => line !== ''));
    });
    child.stdout?.on('data', (data: Buffer) => {
      this.lines.push(
        ...data
          .toString('utf8')
          .split('\n')
          .filter((line) => line !== ''),
      );
    });
    const exited = new Promise<number | null>((resolve) =>
      child.once('exit', (code) => {
        this.running.delete(child);
        resolve(code);
      }),
    );
    return { process: child, port, exited };
  }

  /** Starts a member and waits until it answers /readyz 200 (joined and consuming); returns it and how long that took. */
  async startReady(): Promise<{ child: RulesChild; readyMs: number }> {
    const started = Date.now();
    const child = await this.start();
    await waitFor('the member to be ready', async () => ((await readyz(child)) === 200 ? true : undefined), 60_000);
    return { child, readyMs: Date.now() - started };
  }

  /** Error-level lines (pino level 50 and above). */
  errors(): string[] {
    return this.lines.filter((line) => {
      try {
        return (JSON.parse(line) as { level?: number }).level !== undefined && (JSON.parse(line) as { level: number }).level >= 50;
      } catch {
        return false;
      }
    });
  }

  async stopAll(): Promise<void> {
    await Promise.all(
      [...this.running].map(
        (child) =>
          new Promise<void>((resolve) => {
            child.once('exit', () => resolve());
            child.kill('SIGKILL');
          }),
      ),
    );
  }
}

async function readyz(child: RulesChild): Promise<number> {
  return fetch(`http://127.0.0.1:${child.port}/readyz`).then(
    (r) => r.status,
    () => 0,
  );
}

async function kill9(child: RulesChild): Promise<void> {
  child.process.kill('SIGKILL');
  await child.exited;
}

async function sigterm(child: RulesChild): Promise<number | null> {
  child.process.kill('SIGTERM');
  return exitOf(child);
}

/** The exit code of a child, or a failure if it is still running after `ms` (a process that should have stopped). */
async function exitOf(child: RulesChild, ms = 60_000): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`hub rules (pid ${child.process.pid ?? '?'}) still running after ${ms} ms`));
    }, ms);
  });
  try {
    return await Promise.race([child.exited, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Outbox entries per topic the state holds (pending work a restart must publish first). */
async function pendingByTopic(runtime: RulesRuntime, partitions: number): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (let n = 0; n < partitions; n += 1) {
    for (const field of await runtime.redis.hkeys(partitionKeys(runtime.namespace, n).outbox)) {
      const topic = parseOutboxField(field).topic.split('.').slice(-2).join('.');
      counts[topic] = (counts[topic] ?? 0) + 1;
    }
  }
  return counts;
}

describe(`the rules crash suite (${large ? 'large' : 'CI-sized'}: ${people} people, ${kills} kills, seed ${seed})`, () => {
  const random = new Random('crash-suite', seed);
  const records = agencyRecords(people, seed % 1000);
  beforeAll(() => {
    console.log(`crash suite: seed ${seed} (HUB_CRASH_SEED), ${people} people, ${kills} kills${large ? ' (HUB_CRASH_SUITE=large)' : ''}`);
  });

  let runtimes: RulesRuntime[] = [];
  const everyChildren: Children[] = [];
  const open = async (): Promise<{ env: Record<string, string | undefined>; runtime: RulesRuntime; children: Children }> => {
    const env = hubEnv(freshPrefix());
    await registerAllSchemas(env);
    const runtime = await openRules(env, quietLogger);
    runtimes.push(runtime);
    const children = new Children(env);
    everyChildren.push(children);
    return { env, runtime, children };
  };
  afterAll(async () => {
    // A test that timed out did not reach its finally: no process of the suite may outlive it.
    for (const children of everyChildren) await children.stopAll();
    for (const runtime of runtimes) {
      await deleteKeys(runtime, runtime.namespace);
      await runtime.close();
    }
    runtimes = [];
  });

  it('kill -9 mid-fold while facts arrive: restarts publish the pending entries first, in seconds, quietly', async () => {
    const { env, runtime, children } = await open();
    try {
      let { child } = await children.startReady();
      const recoveries: number[] = [];
      const pendings: Record<string, number>[] = [];
      for (let round = 0; round < kills; round += 1) {
        await publish(env, chunk(records, round, kills));
        await sleep(200 + Math.floor(random.next() * 1500));
        await kill9(child);
        pendings.push(await pendingByTopic(runtime, 3));
        const restarted = await children.startReady();
        child = restarted.child;
        recoveries.push(restarted.readyMs);
      }
      await drained(runtime);
      console.log(
        `crash suite: pending outbox entries by topic after each kill ${JSON.stringify(pendings)}; ready ` +
          `again after ${recoveries.map((ms) => `${(ms / 1000).toFixed(1)} s`).join(', ')}`,
      );
      // The killed member's partitions move after its 10 s session, not 30 s.
      expect(Math.max(...recoveries)).toBeLessThan(20_000);
      // The lag gauge reads 0 as soon as the last batch is committed, not at the next 10 s poll.
      let gauges: string[] = [];
      const lags = await waitFor(
        'the lag gauge to read 0',
        async () => {
          const text = await fetch(`http://127.0.0.1:${child.port}/metrics`).then((r) => r.text());
          gauges = text.split('\n').filter((l) => l.startsWith('hub_consumer_lag{'));
          const values = gauges.map((l) => Number(l.split(' ').at(-1)));
          return values.length > 0 && values.every((v) => v === 0) ? values : undefined;
        },
        3_000,
      ).catch((error: unknown) => {
        throw new Error(`${String(error)}: ${gauges.join('; ')}`);
      });
      expect(lags.length).toBeGreaterThan(0);
      expect(await readyz(child)).toBe(200);
      expect(await sigterm(child)).toBe(0);
      await expectExactlyOnce(runtime, await referenceFold(runtime, await inboundOf(runtime)));
      expect(children.errors()).toEqual([]);
    } finally {
      await children.stopAll();
    }
  }, 600_000);

  it('two members, one killed after a rebalance: the other takes its partitions over', async () => {
    const { env, runtime, children } = await open();
    try {
      const { child: a } = await children.startReady();
      await publish(env, chunk(records, 0, 3));
      const { child: b } = await children.startReady();
      // Both hold partitions now (B's join was a rebalance); B folds some of the next facts, then dies.
      await publish(env, chunk(records, 1, 3));
      await sleep(200 + Math.floor(random.next() * 1500));
      await kill9(b);
      await publish(env, chunk(records, 2, 3));
      await drained(runtime);
      expect(await readyz(a)).toBe(200);
      expect(await sigterm(a)).toBe(0);
      await expectExactlyOnce(runtime, await referenceFold(runtime, await inboundOf(runtime)));
      expect(children.errors()).toEqual([]);
    } finally {
      await children.stopAll();
    }
  }, 600_000);

  it('state deleted: a restart refuses to start; a rebuild publishes what is missing; the service goes on from there', async () => {
    const { env, runtime, children } = await open();
    try {
      const { child } = await children.startReady();
      await publish(env, chunk(records, 0, 3));
      await drained(runtime);
      expect(await sigterm(child)).toBe(0);
      expect(await deleteKeys(runtime, runtime.namespace)).toBeGreaterThan(0);
      const refused = await children.start();
      expect(await exitOf(refused)).not.toBe(0);
      expect(children.lines.join('\n')).toContain('STATE_LOST');
      // Facts that arrive meanwhile are folded by the rebuild, whose outputs it must publish itself.
      await publish(env, chunk(records, 1, 3));
      const rebuilt = await children.start(['--rebuild']);
      expect(await exitOf(rebuilt, 180_000)).toBe(0);
      const { child: after } = await children.startReady();
      await publish(env, chunk(records, 2, 3));
      await drained(runtime);
      expect(await sigterm(after)).toBe(0);
      await expectExactlyOnce(runtime, await referenceFold(runtime, await inboundOf(runtime)));
      // The refusal is the one error line: the process says why it stops.
      expect(children.errors().filter((line) => !line.includes('STATE_LOST'))).toEqual([]);
    } finally {
      await children.stopAll();
    }
  }, 600_000);
});
