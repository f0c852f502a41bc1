import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { checkLogin } from '../../services/desk';
import { dropDatabase, openDeskDatabase } from '../../services/desk/runtime';
import { effectiveEnvironment, loadConfig } from '../../services/platform';
import { dropAllState, stateNamespace } from '../../services/rules';
import { bullPrefix, warningsNamespace } from '../../services/warnings/runtime';
import { runHub } from '../support/run-hub';

/**
 * `hub demo --exit` end to end at 300 people, twice in one namespace: the first run tells the whole
 * story; the second finds every record already there, the quarter closed and the logins made, and
 * still ends with the same summary. The simulator is seeded, so the first run's figures are
 * checked against each other (every warning delivered to both stand-ins, stored once, answered once).
 */
const namespace = `it-demo-${randomUUID().slice(0, 8)}`;
const env = { ...effectiveEnvironment(), HUB_DESK_PORT: '0', HUB_LOG_LEVEL: 'silent' };
const demo = (): Promise<{ code: number; stdout: string; stderr: string }> =>
  runHub(['demo', '--people', '300', '--namespace', namespace, '--exit'], env);

const number = (text: string, pattern: RegExp): number => {
  const match = pattern.exec(text);
  if (match?.[1] === undefined) throw new Error(`no ${String(pattern)} in:\n${text}`);
  return Number(match[1].replace(/,/g, ''));
};
const sections = [
  'records (this run)',
  'supplementary payments (补支付)',
  'warnings anhui-huangshan-2022 2022-Q4:',
  'deliveries (signed webhooks)',
  'receipts (回执) joined to their warnings',
  'where to look',
];
const logins = (out: string): string[] =>
  [...out.matchAll(/^ {4}(analyst|supervisor|minzheng|xiangcun|auditor) +(\S+) +(\S+)$/gm)].map(
    (m) => `${m[1] ?? ''} ${m[2] ?? ''} ${m[3] ?? ''}`,
  );

describe('hub demo', () => {
  afterAll(async () => {
    const prefix = `${namespace}.`;
    const config = loadConfig(env, ['redisUrl', 'postgresUrl', 'stateDir']);
    const redis = new Redis(config.redisUrl);
    try {
      for (const pattern of [`${warningsNamespace(prefix)}*`, `${bullPrefix(prefix)}*`, `hub:intake:fact:${prefix}*`]) {
        for (const key of await redis.keys(pattern)) await redis.del(key);
      }
      await dropAllState(redis, stateNamespace(prefix));
      await redis.del(`${stateNamespace(prefix)}:layout`);
    } finally {
      redis.disconnect();
    }
    await dropDatabase(config.postgresUrl, `hub_${namespace.replace(/-/g, '_')}`);
    rmSync(join(config.stateDir, 'demo', namespace), { recursive: true, force: true });
  }, 60_000);

  let first = '';

  it('tells the whole story at 300 people and prints every section of the summary', async () => {
    const run = await demo();
    expect(run.stderr).not.toMatch(/hub: [A-Z_]+:/);
    expect(run.code).toBe(0);
    first = run.stdout;
    for (const section of sections) expect(first).toContain(section);
    // The simulator planted bad hospital records; the push API refused exactly those.
    const bad = number(first, /hospitals\.csv +utf-8 +\d+ records +(\d+) bad/);
    expect(bad).toBeGreaterThan(0);
    expect(number(first, /^ {2}hospitals +\d+ +\d+ +(\d+) +push API$/m)).toBe(bad);
    const warned = number(first, /2022-Q4: (\d+) people warned/);
    expect(warned).toBeGreaterThan(0);
    // Huangshan routes every warning to both agencies: each delivered once, stored once by the stand-in, answered once.
    for (const agency of ['civil affairs 民政', 'rural revitalization 乡村振兴']) {
      const line = first.split('\n').find((l) => l.includes(agency) && l.includes('delivered')) ?? '';
      expect(line).toContain(
        `${warned} of ${warned} delivered, 0 dead; the stand-in stored ${warned} this run (signature verified ` +
          `on each; 0 refused, 0 repeats)`,
      );
      const answers = first.split('\n').find((l) => l.includes(agency) && l.includes('this run sent')) ?? '';
      expect(answers).toContain(`this run sent ${warned}, accepted ${warned}, refused 0`);
    }
    // Civil affairs gives assistance to the people over the line and acknowledges the rest.
    const over = number(first, /民政 +\d+ people: .*SELF_PAY_OVER_THRESHOLD (\d+)/);
    expect(first).toMatch(new RegExp(`ASSISTANCE_GIVEN ${over}, RECEIVED ${warned - over};`));
    expect(first).toMatch(/desk \(预警台\) +http:\/\/127\.0\.0\.1:\d+\//);
    expect(logins(first)).toHaveLength(5);
  }, 180_000);

  it('runs again in the same namespace without cleaning anything: duplicates, a closed quarter, the same logins', async () => {
    const run = await demo();
    expect(run.stderr).not.toMatch(/hub: [A-Z_]+:/);
    expect(run.code).toBe(0);
    const second = run.stdout;
    for (const section of sections) expect(second).toContain(section);
    for (const agency of ['civil-affairs', 'rural-revitalization', 'hospitals', 'tax']) {
      const accepted = number(first, new RegExp(`^ {2}${agency} +(\\d+) `, 'm'));
      expect(number(second, new RegExp(`^ {2}${agency} +(\\d+) `, 'm'))).toBe(0);
      expect(number(second, new RegExp(`^ {2}${agency} +\\d+ +(\\d+) `, 'm'))).toBe(accepted);
    }
    expect(second).toContain('(2022-Q4 was closed by an earlier run: only changes are sent)');
    const warned = number(first, /2022-Q4: (\d+) people warned/);
    expect(number(second, /2022-Q4: (\d+) people warned/)).toBe(warned);
    expect(second).toContain(`${warned} of ${warned} delivered, 0 dead; the stand-in stored 0 this run`);
    expect(number(second, /supplementary payments \(补支付\) +(\d+) settlements/)).toBe(
      number(first, /supplementary payments \(补支付\) +(\d+) settlements/),
    );
    expect(logins(second)).toEqual(logins(first));
    // The printed logins open the demo's desk, and only its own database holds them.
    const pool = await openDeskDatabase({ ...env, HUB_DESK_DATABASE: `hub_${namespace.replace(/-/g, '_')}` });
    try {
      const [username, password] = (logins(second)[0] ?? '').split(' ');
      expect(await checkLogin(pool, username ?? '', password ?? '')).toMatchObject({ username: 'analyst', role: 'ANALYST' });
    } finally {
      await pool.end();
    }
  }, 180_000);
});
