/**
 * `npm run bench:desk`: the warning desk's answers with 1,000,000 warnings in its database.
 * Seeds a database of its own on the HUB_POSTGRES_URL server (250,000 people x 4 quarters, with
 * their statuses, settlements, supplementary payments, self-pay and receipts), starts the desk's
 * HTTP server in this process and asks, over HTTP with a logged-in session:
 *   - a filtered page sorted by self-pay (period + region + category + delivery status; first pages
 *     and pages deep in the keyset), and the same as a civil-affairs viewer;
 *   - a person's timeline.
 * Prints p50/p99 per kind and the plan PostgreSQL chose for the list query (the index it proves).
 *
 * Environment: BENCH_PEOPLE (default 250,000), BENCH_REQUESTS (per kind, default 400),
 * BENCH_KEEP=1 keeps the database (named BENCH_DESK_DATABASE, default hub_desk_bench) for the next
 * run, which then skips the seeding; otherwise it is dropped at the end.
 */
import { createHash } from 'node:crypto';
import { effectiveEnvironment, loadConfig } from '../services/platform';
import { createLogger } from '../services/platform/runtime';
import { addUser } from '../services/desk';
import { buildDeskServer, createPool, databaseUrl, dropDatabase, ensureDatabase, migrate } from '../services/desk/runtime';
import { Random } from '../services/simulate';

const people = Number(process.env.BENCH_PEOPLE ?? 250_000);
const requests = Number(process.env.BENCH_REQUESTS ?? 400);
const keep = process.env.BENCH_KEEP === '1';
const database = process.env.BENCH_DESK_DATABASE ?? 'hub_desk_bench';
const periods = ['2022-Q1', '2022-Q2', '2022-Q3', '2022-Q4'];
const policies = ['wenzhou-2019', 'jiangxi-2025', 'tibet-2017', 'xianyang-2020', 'anhui-huangshan-2022'];
const categories = [
  'TEKUN',
  'DIBAO',
  'DIBAO_EDGE',
  'ORPHAN',
  'ILLNESS_POVERTY',
  'RELAPSED_POVERTY',
  'MONITORED',
  'LIFTED',
  'POOR_REGISTERED',
];
const deliveries = ['DELIVERED', 'ACKNOWLEDGED', 'DELIVERED', 'ACKNOWLEDGED', 'DELIVERED', 'FAILED', 'PENDING', 'ACKNOWLEDGED'];
const sqlArray = (values: readonly string[]): string => `array[${values.map((v) => `'${v}'`).join(',')}]`;

const env = effectiveEnvironment();
const config = loadConfig(env, ['postgresUrl']);
const logger = createLogger({ level: 'warn', role: 'bench' });

async function seed(pool: ReturnType<typeof createPool>): Promise<void> {
  const started = Date.now();
  const step = async (what: string, sql: string): Promise<void> => {
    const t = Date.now();
    await pool.query(sql);
    console.log(`  seeded ${what} in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  };
  // Deterministic: every value is a function of the person number g and the quarter.
  await step(
    `${(people * 4).toLocaleString('en-US')} warnings`,
    `
    insert into warnings (warning_id, person_key, id_cipher, policy_id, period, window_from, window_to, categories, category, reasons,
      basis,
      self_pay_fen, threshold_fen, medfee_fen, basic_fen, critical_illness_fen, assistance_fen, routed_civil, routed_rural, delivery_status,
      follow_up_status, occurred_at, recorded_at)
    select 'w-' || p.period || '-' || g, md5(g::text), 'v1.bench', (${sqlArray(policies)})[1 + g % 5], p.period, p.wf, p.wt,
      array[(${sqlArray(categories)})[1 + (g * 7) % 9]], (${sqlArray(categories)})[1 + (g * 7) % 9],
      case when g % 3 = 0 then array['ALWAYS_REPORTED_CATEGORY', 'SELF_PAY_OVER_THRESHOLD'] else array['ALWAYS_REPORTED_CATEGORY'] end,
        'TOTAL',
      abs(hashtext(g::text || p.period)) % 8000000, 2000000, abs(hashtext(g::text || p.period)) % 8000000 * 3, 100000, 30000, 20000,
      (g * 7) % 9 < 5 or g % 11 = 0, (g * 7) % 9 >= 5 or g % 11 = 0, (${sqlArray(deliveries)})[1 + (g + p.n) % 8],
      (array['NONE', 'STARTED', 'CLOSED'])[1 + (g + p.n) % 3], now(), now()
    from generate_series(1, ${people}) g
    cross join (values (1, '2022-Q1', date '2022-01-01', date '2022-03-31'), (2, '2022-Q2', date '2022-04-01', date '2022-06-30'),
                       (3, '2022-Q3', date '2022-07-01', date '2022-09-30'), (4, '2022-Q4', date '2022-10-01', date '2022-12-31')) p(n,
                         period, wf, wt)`,
  );
  await step(
    'receipts',
    `insert into receipts (event_id, warning_id, agency, channel, status, attempt, detail, occurred_at)
    select 'r-' || warning_id, warning_id, case when routed_civil then 'CIVIL_AFFAIRS' else 'RURAL_REVITALIZATION' end, 'WEBHOOK',
      case when delivery_status = 'PENDING' then 'DELIVERED' else delivery_status end, 1, null, now() from warnings`,
  );
  await step(
    'statuses',
    `insert into status_changes (event_id, person_key, agency, admdvs, category, action, valid_from, valid_to, source_record_id,
      source_version, occurred_at)
    select 'st-' || g, md5(g::text), 'CIVIL_AFFAIRS', '341002', (${sqlArray(categories)})[1 + (g * 7) % 9], 'CERTIFY', date
      '2022-01-01' + g % 200, null, 'ST-' || g, 1, now()
    from generate_series(1, ${people}) g`,
  );
  await step(
    'settlements',
    `insert into settlements (setl_id, person_key, fixmedins_code, insu_admdvs, med_type, setl_time, medfee_fen, basic_fen,
      critical_illness_fen, assistance_fen, self_pay_fen, is_reversal, orig_setl_id)
    select 'S-' || g || '-' || s, md5(g::text), 'H' || (g % 300), '341002', '21',
      timestamptz '2022-01-01' + (g % 360) * interval '1 day' + s * interval '1 hour',
      500000 + g % 100000, 300000, 50000, 20000, 130000 + g % 100000, false, null
    from generate_series(1, ${people}) g cross join generate_series(1, 3) s`,
  );
  await step(
    'supplementary payments',
    `insert into adjustments (setl_id, event_id, person_key, policy_id, benefit_year, fixmedins_code, settled_critical_illness_fen,
      settled_assistance_fen, due_critical_illness_fen, due_assistance_fen, delta_fen, kind, category_applied, reason, recorded_at)
    select 'S-' || g || '-1', 'adj-' || g, md5(g::text), (${sqlArray(policies)})[1 + g % 5], 2022, 'H' || (g % 300), 50000, 20000,
      50000 + g % 9000, 20000, g % 9000,
      case when g % 9000 = 0 then 'SETTLED_CORRECTLY' else 'SUPPLEMENTARY_PAYMENT' end, null, 'bench', now()
    from generate_series(1, ${people}, 2) g`,
  );
  await step(
    'self-pay',
    `insert into self_pay (person_key, benefit_year, policy_id, settlement_count, medfee_fen, self_pay_total_fen,
      self_pay_in_scope_fen, recorded_at)
    select md5(g::text), 2022, (${sqlArray(policies)})[1 + g % 5], 3, 1500000, 400000, 300000, now() from generate_series(1, ${people}) g`,
  );
  await step('statistics (ANALYZE)', 'analyze');
  console.log(`seeded in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

async function measure(what: string, count: number, request: (i: number) => Promise<Response>): Promise<void> {
  const times: number[] = [];
  for (let i = 0; i < 20; i += 1) await (await request(i)).arrayBuffer(); // warm-up
  for (let i = 0; i < count; i += 1) {
    const t = process.hrtime.bigint();
    const response = await request(i);
    await response.arrayBuffer();
    if (!response.ok) throw new Error(`${what}: HTTP ${response.status}`);
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  times.sort((a, b) => a - b);
  console.log(
    `${what.padEnd(58)} p50 ${percentile(times, 50).toFixed(1).padStart(6)} ms   ` +
      `p99 ${percentile(times, 99).toFixed(1).padStart(6)} ms   (${count} requests)`,
  );
}

async function main(): Promise<void> {
  await ensureDatabase(config.postgresUrl, database);
  const pool = createPool(databaseUrl(config.postgresUrl, database), 8);
  await migrate(pool);
  const { rows } = await pool.query<{ n: number }>('select count(*)::int as n from warnings');
  if ((rows[0]?.n ?? 0) !== people * 4) {
    console.log(`seeding ${database} with ${people * 4} warnings`);
    await pool.query('truncate warnings, receipts, status_changes, settlements, adjustments, self_pay');
    await seed(pool);
  } else {
    console.log(`reusing ${database}: ${rows[0]?.n} warnings`);
  }
  await pool.query(`delete from sessions`);
  const password = 'Bench-password-2022';
  for (const [username, role] of [
    ['bench', 'ANALYST'],
    ['benchcivil', 'CIVIL_AFFAIRS_VIEWER'],
  ] as const) {
    await pool.query('delete from users where username = $1', [username]);
    await addUser(pool, { username, displayName: username, role, password });
  }
  const app = await buildDeskServer({ pool, logger, idEncryptionKey: Buffer.alloc(32), sessionMinutes: 60, secureCookie: false });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  const login = async (username: string): Promise<string> => {
    const response = await fetch(`${url}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password }),
    });
    return (response.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  };
  const analyst = await login('bench');
  const civil = await login('benchcivil');
  const random = new Random('bench-desk', 1);
  const pick = <T>(values: readonly T[]): T => values[Math.floor(random.next() * values.length)] as T;
  const filters = (): string =>
    `period=${pick(periods)}&policyId=${pick(policies)}&category=${pick(categories)}` +
    `&deliveryStatus=${pick(['DELIVERED', 'ACKNOWLEDGED', 'FAILED'])}&limit=50`;
  const get = (cookie: string, path: string): Promise<Response> => fetch(`${url}${path}`, { headers: { cookie } });

  const plan = await pool.query<{
    'QUERY PLAN': string;
  }>(`explain (analyze, costs off, timing off) select * from warnings where period = '2022-Q3' and policy_id = 'tibet-2017'
    and categories @> array['DIBAO']::text[] and delivery_status = 'FAILED' order by self_pay_fen desc, warning_id desc limit 51`);
  console.log('plan of a filtered, sorted page:');
  for (const line of plan.rows.slice(0, 6)) console.log(`  ${line['QUERY PLAN']}`);

  await measure('filtered page sorted by self-pay, first page (analyst)', requests, () => get(analyst, `/api/warnings?${filters()}`));
  // Deep pages: follow the cursor ten pages into a filter, then measure the next page.
  const deep: string[] = [];
  for (let i = 0; i < Math.min(requests, 100); i += 1) {
    let query = filters();
    for (let page = 0; page < 10; page += 1) {
      const body = (await (await get(analyst, `/api/warnings?${query}`)).json()) as { next: string | null };
      if (body.next === null) break;
      query = `${query.replace(/&after=[^&]*/, '')}&after=${body.next}`;
    }
    deep.push(query);
  }
  await measure('filtered page sorted by self-pay, 11th page (keyset)', requests, (i) =>
    get(analyst, `/api/warnings?${deep[i % deep.length] ?? ''}`),
  );
  await measure('period + region only, sorted ascending (analyst)', requests, () =>
    get(analyst, `/api/warnings?period=${pick(periods)}&policyId=${pick(policies)}&order=asc&limit=50`),
  );
  await measure('filtered page as a civil-affairs viewer', requests, () =>
    get(civil, `/api/warnings?period=${pick(periods)}&category=${pick(categories)}&limit=50`),
  );
  await measure("a person's timeline", requests, () =>
    get(analyst, `/api/people/${personKey(1 + Math.floor(random.next() * people))}/timeline`),
  );
  await app.close();
  await pool.end();
  if (!keep) await dropDatabase(config.postgresUrl, database);
}

/** md5 of the person number, as the seed's person keys. */
function personKey(g: number): string {
  return createHash('md5').update(String(g)).digest('hex');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
