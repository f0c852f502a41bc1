import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import iconv from 'iconv-lite';
import { afterEach, describe, expect, it } from 'vitest';
import { agencies, civilAffairs } from '../../../connectors';
import { memoryKeyStore, type ConnectorServer, type ConnectorServerDependencies, type ImportFile } from '../../../connectors/api';
import { clientOf, createConnectorServer, createFailedKeyLimiter } from '../../../connectors/api/runtime';
import { type Intake } from '../../../connectors/intake';
import { importFile } from '../../../connectors/intake/runtime';
import { type HealthReport } from '../../../services/platform';
import { createLogger, createMetrics } from '../../../services/platform/runtime';
import { decodePublished, inMemoryIntake, validRaw, zhangSan, type IntakeWorld } from './fixtures';

interface Harness {
  readonly app: ConnectorServer;
  readonly world: IntakeWorld;
  readonly civilKey: string;
  readonly taxKey: string;
  readonly logs: () => string;
  revoke(): Promise<void>;
}

const open: ConnectorServer[] = [];
afterEach(async () => {
  for (const app of open.splice(0)) await app.close();
});

async function harness(overrides: Partial<ConnectorServerDependencies> = {}): Promise<Harness> {
  const world = inMemoryIntake(civilAffairs);
  const keys = memoryKeyStore();
  const civil = await keys.issue('civil-affairs');
  const taxKey = (await keys.issue('tax')).key;
  const logStream = new PassThrough();
  const lines: Buffer[] = [];
  logStream.on('data', (chunk: Buffer) => lines.push(chunk));
  const app = createConnectorServer({
    agency: civilAffairs,
    intake: world.intake,
    keys,
    topicName: 'test.civil-affairs.status-changes',
    logger: createLogger({ level: 'info', role: 'civil-affairs', destination: logStream }),
    metrics: createMetrics('civil-affairs'),
    ...overrides,
  });
  open.push(app);
  return {
    app,
    world,
    civilKey: civil.key,
    taxKey,
    logs: () => Buffer.concat(lines).toString('utf8'),
    revoke: async () => {
      await keys.revoke(civil.keyId);
    },
  };
}

/** `key` null: no Authorization header at all. */
const post = (h: Harness, payload: unknown, key: string | null = h.civilKey, headers: Record<string, string> = {}) =>
  h.app.inject({
    method: 'POST',
    url: '/v1/records',
    headers: { 'content-type': 'application/json', ...(key === null ? {} : { authorization: `Bearer ${key}` }), ...headers },
    payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
  });

describe('connector push API: who may write', () => {
  it('answers 401 without an Authorization header, and publishes nothing', async () => {
    const h = await harness();
    const response = await post(h, { records: [validRaw['civil-affairs']] }, null);
    expect(response.statusCode).toBe(401);
    expect(response.headers['www-authenticate']).toBe('Bearer realm="hub-civil-affairs"');
    expect(response.json()).toEqual({
      error: { code: 'AUTH_REQUIRED', message: 'send the agency API key as "Authorization: Bearer <key>"' },
    });
    expect(h.world.published).toEqual([]);
  });

  it('answers 401 for a key it does not know and for a revoked key', async () => {
    const h = await harness();
    expect((await post(h, { records: [] }, 'A'.repeat(43))).statusCode).toBe(401);
    await h.revoke();
    const response = await post(h, { records: [validRaw['civil-affairs']] });
    expect(response.statusCode).toBe(401);
    expect(response.json()).toEqual({ error: { code: 'AUTH_REQUIRED', message: 'the API key is unknown or revoked' } });
    expect(h.world.published).toEqual([]);
  });

  it('answers 403 to a valid key of another agency, and writes nothing', async () => {
    const h = await harness();
    const response = await post(h, { records: [validRaw['civil-affairs']] }, h.taxKey);
    expect(response.statusCode).toBe(403);
    expect(response.json()).toMatchObject({ error: { code: 'FORBIDDEN' } });
    expect(h.world.published).toEqual([]);
    expect(h.world.deadLetters).toEqual([]);
  });
});

describe('connector push API: failed keys from one address (issue 10, item 9)', () => {
  const from = (h: Harness, address: string, key: string | null) =>
    h.app.inject({
      method: 'POST',
      url: '/v1/records',
      remoteAddress: address,
      headers: { 'content-type': 'application/json', ...(key === null ? {} : { authorization: `Bearer ${key}` }) },
      payload: JSON.stringify({ records: [validRaw['civil-affairs']] }),
    });

  it('answers 429 with Retry-After once an address has presented too many failed keys, and still serves a good key from it', async () => {
    const h = await harness();
    const statuses: number[] = [];
    for (let i = 0; i < 10; i += 1) statuses.push((await from(h, '203.0.113.7', i % 2 === 0 ? 'B'.repeat(43) : null)).statusCode);
    expect(statuses).toEqual(Array<number>(10).fill(401));
    const refused = await from(h, '203.0.113.7', 'C'.repeat(43));
    expect(refused.statusCode).toBe(429);
    expect(refused.headers['retry-after']).toBe('6');
    expect(refused.json()).toEqual({
      error: {
        code: 'TOO_MANY_FAILED_KEYS',
        message: 'too many requests with an unknown, revoked or missing API key from this address; try again in 6 s',
      },
    });
    expect((await from(h, '203.0.113.7', null)).statusCode).toBe(429);
    // The agency's own key from the same address, and a bad key from another address, are untouched.
    expect((await from(h, '203.0.113.7', h.civilKey)).statusCode).toBe(200);
    expect((await from(h, '198.51.100.1', 'B'.repeat(43))).statusCode).toBe(401);
    expect(h.world.published).toHaveLength(1);
  });

  it('lets an address try again as its failed keys age', async () => {
    const h = await harness({ limits: { failedKeyAttempts: 2, failedKeyWindowMs: 400 } });
    expect((await from(h, '203.0.113.8', null)).statusCode).toBe(401);
    expect((await from(h, '203.0.113.8', null)).statusCode).toBe(401);
    expect((await from(h, '203.0.113.8', null)).statusCode).toBe(429);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await from(h, '203.0.113.8', null)).statusCode).toBe(401);
  });
});

describe('failed-key limiter', () => {
  it('remembers at most the configured number of addresses, the least recently failing forgotten first', () => {
    const limiter = createFailedKeyLimiter({ attempts: 1, windowMs: 60_000, maxAddresses: 100 }, () => 0);
    for (let i = 0; i < 10_000; i += 1) limiter.failed(`10.0.${Math.floor(i / 256)}.${i % 256}`);
    expect(limiter.size).toBe(100);
    expect(limiter.retryAfterSeconds('10.0.39.15')).toBe(60);
    expect(limiter.retryAfterSeconds('10.0.0.0')).toBe(0);
  });

  it('counts an IPv6 host by its /64 and an IPv4-mapped address as IPv4', () => {
    expect(clientOf('2001:db8:0:1::5')).toBe('2001:db8:0:1::/64');
    expect(clientOf('2001:0db8:0000:0001:ffff:0:0:9')).toBe('2001:db8:0:1::/64');
    expect(clientOf('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(clientOf('203.0.113.7')).toBe('203.0.113.7');
    const limiter = createFailedKeyLimiter({ attempts: 1, windowMs: 60_000, maxAddresses: 100 }, () => 0);
    limiter.failed('2001:db8:0:1::5');
    expect(limiter.retryAfterSeconds('2001:db8:0:1:abcd::7')).toBe(60);
    expect(limiter.retryAfterSeconds('2001:db8:0:2::5')).toBe(0);
  });
});

describe('connector push API: request shape', () => {
  it('answers 413 with a JSON error when the body passes the byte limit', async () => {
    const h = await harness({ limits: { bodyLimitBytes: 2048 } });
    const records = Array.from({ length: 20 }, (_, i) => ({ ...validRaw['civil-affairs'], recordId: `MZ-${i}` }));
    const response = await post(h, { records });
    expect(response.statusCode).toBe(413);
    expect(response.json()).toEqual({ error: { code: 'REQUEST_TOO_LARGE', message: 'the body is larger than 2048 bytes' } });
    expect(h.world.published).toEqual([]);
  });

  it('answers 413 when a request carries more records than allowed', async () => {
    const h = await harness({ limits: { maxRecords: 3 } });
    const response = await post(h, { records: [1, 2, 3, 4].map((i) => ({ ...validRaw['civil-affairs'], recordId: `MZ-${i}` })) });
    expect(response.statusCode).toBe(413);
    expect(response.json()).toEqual({
      error: { code: 'REQUEST_TOO_LARGE', message: '4 records in one request; at most 3: send several requests' },
    });
    expect(h.world.published).toEqual([]);
  });

  it('answers 400 to a body that is not JSON', async () => {
    const h = await harness();
    const response = await post(h, '{"records": [');
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ error: { code: 'REQUEST_INVALID' } });
  });

  it.each([
    ['an array', [validRaw['civil-affairs']], 'the body must be a JSON object { "records": [ … ] }'],
    ['an object without records', { record: validRaw['civil-affairs'] }, 'the body must have a "records" array'],
    ['records that is not an array', { records: validRaw['civil-affairs'] }, 'the body must have a "records" array'],
  ])('answers 400 to %s, saying what is wrong', async (_case, payload, message) => {
    const h = await harness();
    const response = await post(h, payload);
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({ error: { code: 'REQUEST_INVALID', message } });
    expect(h.world.published).toEqual([]);
  });
});

describe('connector push API: one odd record is refused alone (issue 10, item 8)', () => {
  const good = validRaw['civil-affairs'];
  const deep = (levels: number): string => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;

  it.each([
    ['a "__proto__" key', `{"records":[${JSON.stringify(good)},{"recordId":"MZ-P","__proto__":{"admin":true}}]}`, '__proto__'],
    [
      'a nested "__proto__" key',
      `{"records":[${JSON.stringify(good)},{"recordId":"MZ-P","remark":{"x":{"__proto__":{"admin":true}}}}]}`,
      'remark.x.__proto__',
    ],
    [
      'a "constructor.prototype" key',
      `{"records":[${JSON.stringify(good)},{"recordId":"MZ-P","constructor":{"prototype":{"admin":true}}}]}`,
      'constructor',
    ],
    [
      'a record nested 10,000 deep',
      `{"records":[${JSON.stringify(good)},{"recordId":"MZ-P","remark":${deep(10_000)}}]}`,
      expect.stringMatching(/^remark(\.a)*$/) as unknown,
    ],
    ['a record that is a string', `{"records":[${JSON.stringify(good)},"${zhangSan.idNumber}"]}`, '(record)'],
    ['a record that is null', `{"records":[${JSON.stringify(good)},null]}`, '(record)'],
    ['a record that is an array', `{"records":[${JSON.stringify(good)},[1,2]]}`, '(record)'],
  ])('answers 200 to a batch holding %s: the good record accepted, that one refused and dead-lettered', async (_case, body, field) => {
    const h = await harness();
    const response = await post(h, body);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({
      accepted: 1,
      rejected: 1,
      results: [{ status: 'accepted' }, { position: 'records[1]', status: 'rejected', problems: [{ field }] }],
    });
    expect(h.world.published).toHaveLength(1);
    expect(h.world.deadLetters).toHaveLength(1);
    expect(h.world.deadLetters[0]?.raw.toString('utf8')).not.toContain(zhangSan.idNumber);
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });

  it('reads a body sent with charset=gbk as GBK', async () => {
    const h = await harness();
    const body = iconv.encode(JSON.stringify({ records: [{ ...good, recordId: '民政-2019-王', name: '王秀英' }] }), 'gbk');
    const response = await h.app.inject({
      method: 'POST',
      url: '/v1/records',
      payload: body,
      headers: { 'content-type': 'application/json; charset=gbk', authorization: `Bearer ${h.civilKey}` },
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ accepted: 1 });
    expect(h.world.published.map((entry) => decodePublished(entry).sourceRecordId)).toEqual(['民政-2019-王']);
  });

  it('answers 415 to another content type or charset, 404 to an unknown route and 405 to a wrong method', async () => {
    const h = await harness();
    const auth = { authorization: `Bearer ${h.civilKey}` };
    const xml = await h.app.inject({
      method: 'POST',
      url: '/v1/records',
      payload: '<records/>',
      headers: { ...auth, 'content-type': 'application/xml' },
    });
    expect(xml.statusCode).toBe(415);
    expect(xml.json()).toMatchObject({ error: { code: 'UNSUPPORTED_MEDIA_TYPE' } });
    const latin = await h.app.inject({
      method: 'POST',
      url: '/v1/records',
      payload: '{}',
      headers: { ...auth, 'content-type': 'application/json; charset=iso-8859-1' },
    });
    expect(latin.statusCode).toBe(415);
    const unknown = await h.app.inject({ method: 'GET', url: '/v2/nothing', headers: auth });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ error: { code: 'NOT_FOUND' } });
    const wrongMethod = await h.app.inject({ method: 'GET', url: '/v1/records', headers: auth });
    expect(wrongMethod.statusCode).toBe(405);
    expect(wrongMethod.headers.allow).toBe('POST');
  });
});

describe('connector push API: a stalled body (issue 10, item 9)', () => {
  it('closes a connection that stops sending in the middle of a body', async () => {
    const h = await harness({ limits: { idleTimeoutMs: 300 } });
    await h.app.listen({ port: 0, host: '127.0.0.1' });
    const address = h.app.server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    const { connect } = await import('node:net');
    const socket = connect(port, '127.0.0.1');
    const started = Date.now();
    const closed = new Promise<number>((resolve) => {
      socket.on('close', () => resolve(Date.now() - started));
      socket.on('error', () => undefined);
    });
    socket.write(
      `POST /v1/records HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${h.civilKey}\r\ncontent-type: ` +
        `application/json\r\ncontent-length: 1000\r\n\r\n{"records":[`,
    );
    expect(await closed).toBeLessThan(5_000);
  });
});

describe('connector push API: per-record answers', () => {
  it('answers each record in order: accepted, rejected with its problems, duplicate', async () => {
    const h = await harness();
    const response = await post(h, {
      records: [
        validRaw['civil-affairs'],
        { ...validRaw['civil-affairs'], recordId: 'MZ-2', validFrom: '2019-02-30' },
        validRaw['civil-affairs'],
      ],
    });
    expect(response.statusCode).toBe(200);
    const answer = response.json<{ results: { eventId?: string }[] }>();
    const eventId = answer.results[0]?.eventId;
    expect(eventId).toMatch(/^civil-affairs:[0-9a-f]{32}$/);
    expect(answer).toEqual({
      accepted: 1,
      duplicates: 1,
      rejected: 1,
      results: [
        { position: 'records[0]', status: 'accepted', eventId },
        {
          position: 'records[1]',
          status: 'rejected',
          problems: [{ field: 'validFrom', reason: '"2019-02-30" is not a real date (YYYY-MM-DD)' }],
        },
        { position: 'records[2]', status: 'duplicate', eventId },
      ],
    });
    expect(h.world.published).toHaveLength(1);
    expect(h.world.deadLetters).toHaveLength(1);
    expect(h.world.published.map((entry) => decodePublished(entry).source)).toEqual([
      expect.stringMatching(/^civil-affairs:api:key-[0-9a-f]{12}$/),
    ]);
  });

  it('answers a resent request with duplicates and publishes nothing new', async () => {
    const h = await harness();
    await post(h, { records: [validRaw['civil-affairs']] });
    const again = await post(h, { records: [validRaw['civil-affairs']] });
    expect(again.json()).toMatchObject({ accepted: 0, duplicates: 1, rejected: 0 });
    expect(h.world.published).toHaveLength(1);
  });

  it('counts records by topic and outcome in /metrics', async () => {
    const h = await harness();
    await post(h, {
      records: [validRaw['civil-affairs'], { ...validRaw['civil-affairs'], recordId: 'MZ-2', category: 'X' }, validRaw['civil-affairs']],
    });
    await post(h, { records: [] }, null);
    const metrics = (await h.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toContain('hub_records_total{topic="test.civil-affairs.status-changes",outcome="accepted",role="civil-affairs"} 1');
    expect(metrics).toContain('hub_records_total{topic="test.civil-affairs.status-changes",outcome="duplicate",role="civil-affairs"} 1');
    expect(metrics).toContain('hub_records_total{topic="test.civil-affairs.status-changes",outcome="rejected",role="civil-affairs"} 1');
    expect(metrics).toContain('hub_errors_total{code="AUTH_REQUIRED",role="civil-affairs"} 1');
  });

  it('never logs the ID number or the name of a record, accepted or rejected', async () => {
    const h = await harness();
    await post(h, { records: [validRaw['civil-affairs'], { ...validRaw['civil-affairs'], recordId: 'MZ-2', validFrom: 'soon' }] });
    await post(h, `{"records": [{"idNumber": "${zhangSan.idNumber}", "name": "${zhangSan.name}"`);
    const logs = h.logs();
    expect(logs).toContain('"msg":"records taken"');
    expect(logs).not.toContain(zhangSan.idNumber);
    expect(logs).not.toContain(zhangSan.name);
  });

  it('keeps a well-formed x-request-id and replaces one that is not', async () => {
    const h = await harness();
    expect(
      (await h.app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'agency-batch-42' } })).headers['x-request-id'],
    ).toBe('agency-batch-42');
    expect((await h.app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'a b\nc' } })).headers['x-request-id']).toMatch(
      /^[0-9a-f-]{36}$/,
    );
  });
});

describe('connector push API: when Kafka, the registry or Redis fail', () => {
  const failing = (error: Error): Intake => ({ ingest: () => Promise.reject(error) });
  const kafkaError = Object.assign(new Error('Connection error: connect ECONNREFUSED 127.0.0.1:9092'), {
    name: 'KafkaJSNumberOfRetriesExceeded',
  });

  it('answers 503 with Retry-After when Kafka does not take the records', async () => {
    const h = await harness({ intake: failing(kafkaError), limits: { retryAfterSeconds: 7 } });
    const response = await post(h, { records: [validRaw['civil-affairs']] });
    expect(response.statusCode).toBe(503);
    expect(response.headers['retry-after']).toBe('7');
    expect(response.json()).toMatchObject({ error: { code: 'KAFKA_UNAVAILABLE' } });
  });

  it('answers 503 when Redis does not answer', async () => {
    const redisError = Object.assign(new Error('Reached the max retries per request limit (which is 3).'), {
      name: 'MaxRetriesPerRequestError',
    });
    const response = await post(await harness({ intake: failing(redisError) }), { records: [validRaw['civil-affairs']] });
    expect(response.statusCode).toBe(503);
    expect(response.json()).toMatchObject({ error: { code: 'REDIS_UNAVAILABLE' } });
  });

  it('answers 503 when the registry is unreachable while encoding', async () => {
    const { HubError } = await import('../../../services/platform');
    const response = await post(await harness({ intake: failing(new HubError('REGISTRY_UNAVAILABLE', 'schema registry unreachable')) }), {
      records: [validRaw['civil-affairs']],
    });
    expect(response.statusCode).toBe(503);
    expect(response.json()).toEqual({ error: { code: 'REGISTRY_UNAVAILABLE', message: 'schema registry unreachable' } });
  });

  it('answers 503 with Retry-After when too many batches wait for the intake already', async () => {
    const { HubError } = await import('../../../services/platform');
    const overloaded = new HubError(
      'OVERLOADED',
      'too many batches for the civil-affairs intake are waiting (at most 16); try again later',
    );
    const response = await post(await harness({ intake: failing(overloaded), limits: { retryAfterSeconds: 3 } }), {
      records: [validRaw['civil-affairs']],
    });
    expect(response.statusCode).toBe(503);
    expect(response.headers['retry-after']).toBe('3');
    expect(response.json()).toEqual({ error: { code: 'OVERLOADED', message: overloaded.message } });
  });

  it('answers 503 rather than wait longer than the ingest timeout', async () => {
    const never: Intake = { ingest: () => new Promise(() => undefined) };
    const response = await post(await harness({ intake: never, limits: { ingestTimeoutMs: 50 } }), {
      records: [validRaw['civil-affairs']],
    });
    expect(response.statusCode).toBe(503);
    expect(response.json()).toMatchObject({ error: { code: 'KAFKA_UNAVAILABLE' } });
  });

  it('answers 500, not 200, to an unexpected failure', async () => {
    const response = await post(await harness({ intake: failing(new TypeError('x is undefined')) }), {
      records: [validRaw['civil-affairs']],
    });
    expect(response.statusCode).toBe(500);
    expect(response.json()).toEqual({
      error: { code: 'PROCESSING_FAILED', message: 'the records could not be processed: x is undefined' },
    });
  });
});

describe('connector health', () => {
  it('is alive on /healthz and ready on /readyz only when its checks pass', async () => {
    let report: HealthReport = { ok: false, checks: { kafka: 'ok', redis: 'connect ECONNREFUSED' } };
    const h = await harness({ readiness: () => Promise.resolve(report) });
    expect((await h.app.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({ ok: true });
    const notReady = await h.app.inject({ method: 'GET', url: '/readyz' });
    expect(notReady.statusCode).toBe(503);
    expect(notReady.json()).toEqual(report);
    report = { ok: true, checks: { kafka: 'ok', redis: 'ok' } };
    expect((await h.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
  });

  it('lets a request in flight finish when it is closed, and refuses new ones', async () => {
    let release: () => void = () => undefined;
    let arrived: () => void = () => undefined;
    const inIntake = new Promise<void>((resolve) => {
      arrived = resolve;
    });
    const world = inMemoryIntake(civilAffairs);
    const slow: Intake = {
      ingest: async (items, channel) => {
        arrived();
        await new Promise<void>((resolve) => {
          release = resolve;
        });
        return world.intake.ingest(items, channel);
      },
    };
    const h = await harness({ intake: slow });
    await h.app.listen({ port: 0, host: '127.0.0.1' });
    const address = h.app.server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    const inFlight = fetch(`http://127.0.0.1:${port}/v1/records`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${h.civilKey}` },
      body: JSON.stringify({ records: [validRaw['civil-affairs']] }),
    });
    // Closed once the request is in the intake, not after a guessed delay.
    await inIntake;
    const closed = h.app.close();
    release();
    const response = await inFlight;
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ accepted: 1 });
    await closed;
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
  });
});

describe('connector batch files', () => {
  const upload = (h: Harness, url: string, body: string, key = h.civilKey) =>
    h.app.inject({ method: 'POST', url, headers: { 'content-type': 'text/csv', authorization: `Bearer ${key}` }, payload: body });

  it('streams the file to the importer with its format and encoding, and answers the counts', async () => {
    const seen: { format: string; encoding: string | undefined; text: string }[] = [];
    const fakeImport: ImportFile = async (options) => {
      const chunks: Buffer[] = [];
      for await (const chunk of options.input) chunks.push(Buffer.from(chunk as Buffer));
      seen.push({ format: options.format, encoding: options.encoding, text: Buffer.concat(chunks).toString('utf8') });
      return { rows: 3, accepted: 2, duplicates: 0, rejected: 1, reportPath: '/tmp/should-not-leak.csv' };
    };
    const h = await harness({ importFile: fakeImport });
    const response = await upload(h, '/v1/files?format=csv&encoding=gbk', 'recordId,version\nMZ-1,1\n');
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ rows: 3, accepted: 2, duplicates: 0, rejected: 1, rejections: [], rejectionsTruncated: false });
    expect(seen).toEqual([{ format: 'csv', encoding: 'gbk', text: 'recordId,version\nMZ-1,1\n' }]);
  });

  it('imports a civil-affairs CSV roster through the real importer, answering each rejected row', async () => {
    const h = await harness({ importFile });
    const csv = [
      '业务编号,身份证号,姓名,行政区划代码,人员类别,业务类型,生效日期,终止日期,审批时间',
      `MZ-2019-0001,${zhangSan.idNumber},${zhangSan.name},330302,低保对象,认定,2019-03-01,,2019-02-27 10:00:00`,
      `MZ-2019-0002,${zhangSan.idNumber},${zhangSan.name},330302,低保对象,取消,2019-03-01,,2019-02-27 10:00:00`,
    ].join('\n');
    const response = await upload(h, '/v1/files?format=csv&encoding=utf-8', `${csv}\n`);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      rows: 2,
      accepted: 1,
      duplicates: 0,
      rejected: 1,
      rejectionsTruncated: false,
      rejections: [
        { position: 'row 3', status: 'rejected', problems: [{ field: 'validTo', reason: 'a revocation names the day the status ends' }] },
      ],
    });
    expect(h.world.published.map((entry) => decodePublished(entry))).toEqual([
      expect.objectContaining({
        sourceRecordId: 'MZ-2019-0001',
        category: 'DIBAO',
        action: 'CERTIFY',
        source: expect.stringMatching(/^civil-affairs:file-api:key-[0-9a-f]{12}$/) as unknown,
      }),
    ]);
    expect(h.world.deadLetters.map((letter) => letter.rawFormat)).toEqual(['csv-row']);
  });

  it("answers 400 to a file without the columns the agency's mapping needs", async () => {
    const h = await harness({ importFile });
    const response = await upload(h, '/v1/files?format=csv', 'colour,size\nred,1\n');
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ error: { code: 'INPUT_INVALID' } });
    expect(h.world.published).toEqual([]);
  });

  it('takes a file larger than the JSON body limit when it is within the file limit', async () => {
    let bytes = 0;
    const counting: ImportFile = async (options) => {
      for await (const chunk of options.input) bytes += Buffer.from(chunk as Buffer).length;
      return { rows: 0, accepted: 0, duplicates: 0, rejected: 0, reportPath: null };
    };
    const h = await harness({ importFile: counting, limits: { bodyLimitBytes: 2048, fileLimitBytes: 1024 * 1024 } });
    const response = await upload(h, '/v1/files?format=csv', 'x'.repeat(100_000));
    expect(response.statusCode).toBe(200);
    expect(bytes).toBe(100_000);
  });

  it("answers 400 to an unknown format and 403 to another agency's key", async () => {
    const h = await harness({ importFile: () => Promise.reject(new Error('must not be called')) });
    expect((await upload(h, '/v1/files?format=pdf', 'x')).json()).toEqual({
      error: { code: 'REQUEST_INVALID', message: 'give ?format=csv|xlsx' },
    });
    expect((await upload(h, '/v1/files?format=csv', 'x', h.taxKey)).statusCode).toBe(403);
  });

  it('stops a file larger than the file limit with 413', async () => {
    const h = await harness({ importFile, limits: { fileLimitBytes: 1024 } });
    const response = await upload(h, '/v1/files?format=csv', 'x'.repeat(5000));
    expect(response.statusCode).toBe(413);
    expect(response.json()).toMatchObject({ error: { code: 'REQUEST_TOO_LARGE' } });
  });

  it('stops a streamed file without a length once it passes the file limit, with 413', async () => {
    const h = await harness({ importFile, limits: { fileLimitBytes: 1024 } });
    const header = '业务编号,身份证号,姓名,行政区划代码,人员类别,业务类型,生效日期,终止日期,审批时间\n';
    const row = `MZ-X,${zhangSan.idNumber},${zhangSan.name},330302,低保对象,认定,2019-03-01,,2019-02-27 10:00:00\n`;
    const response = await h.app.inject({
      method: 'POST',
      url: '/v1/files?format=csv',
      headers: { 'content-type': 'text/csv', authorization: `Bearer ${h.civilKey}`, 'transfer-encoding': 'chunked' },
      payload: Readable.from([header, ...Array.from({ length: 40 }, () => row)].map((text) => Buffer.from(text))),
    });
    expect(response.statusCode).toBe(413);
    expect(response.json()).toEqual({ error: { code: 'REQUEST_TOO_LARGE', message: 'the file is larger than 1024 bytes' } });
  });
});

const hasOpenssl = (() => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe('connector over HTTPS', () => {
  // The certificate is made on the spot with openssl; a machine without it skips (and says so).
  it.skipIf(!hasOpenssl)('serves the push API over TLS with the configured certificate', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hub-tls-'));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    const cert = readFileSync(join(dir, 'cert.pem'));
    const h = await harness({ tls: { cert, key: readFileSync(join(dir, 'key.pem')) } });
    await h.app.listen({ port: 0, host: '127.0.0.1' });
    const address = h.app.server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    const body = JSON.stringify({ records: [validRaw['civil-affairs']] });
    const answer = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const request = httpsRequest(
        {
          host: '127.0.0.1',
          port,
          path: '/v1/records',
          method: 'POST',
          ca: cert,
          headers: { 'content-type': 'application/json', authorization: `Bearer ${h.civilKey}`, 'content-length': Buffer.byteLength(body) },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        },
      );
      request.on('error', reject);
      request.end(body);
    });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text)).toMatchObject({ accepted: 1 });
  });
});

describe("each agency's connector", () => {
  it.each(Object.values(agencies).map((agency) => [agency.id, agency] as const))('%s accepts its own valid record', async (id, agency) => {
    const world = inMemoryIntake(agency);
    const keys = memoryKeyStore();
    const key = (await keys.issue(agency.id)).key;
    const app = createConnectorServer({
      agency,
      intake: world.intake,
      keys,
      topicName: `test.${id}`,
      logger: createLogger({ level: 'silent', role: id }),
      metrics: createMetrics(id),
    });
    open.push(app);
    const response = await app.inject({
      method: 'POST',
      url: '/v1/records',
      headers: { authorization: `Bearer ${key}` },
      payload: { records: [validRaw[id]] },
    });
    expect(response.json()).toMatchObject({ accepted: 1, duplicates: 0, rejected: 0 });
    expect(world.published).toHaveLength(1);
  });
});

describe('connector push API: keys bound to institutions or divisions (issue 10, item 7)', () => {
  async function boundServer(agency: 'hospitals' | 'civil-affairs', scope: { institutions?: string[]; divisions?: string[] }) {
    const world = inMemoryIntake(agencies[agency]);
    const keys = memoryKeyStore();
    const bound = await keys.issue(agency, scope);
    const unbound = await keys.issue(agency);
    const app = createConnectorServer({
      agency: agencies[agency],
      intake: world.intake,
      keys,
      topicName: `test.${agency}`,
      logger: createLogger({ level: 'silent', role: agency }),
      metrics: createMetrics(agency),
    });
    open.push(app);
    const send = (key: string, records: unknown[]) =>
      app.inject({
        method: 'POST',
        url: '/v1/records',
        payload: JSON.stringify({ records }),
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      });
    return { world, send, bound: bound.key, unbound: unbound.key };
  }

  it('lets a key bound to an institution write and reverse its own settlements only', async () => {
    const s = await boundServer('hospitals', { institutions: ['H33030200001'] });
    const other = { ...validRaw.hospitals, fixmedins_code: 'H11010500002', setl_id: 'S-OTHER' };
    const reversal = {
      ...validRaw.hospitals,
      fixmedins_code: 'H11010500002',
      setl_id: 'S-OTHER-R',
      is_reversal: true,
      orig_setl_id: 'S-OTHER',
    };
    const response = await s.send(s.bound, [validRaw.hospitals, other, reversal]);
    expect(response.json()).toMatchObject({
      accepted: 1,
      rejected: 2,
      results: [
        { status: 'accepted' },
        { status: 'rejected', problems: [{ field: 'fixmedins_code' }] },
        { status: 'rejected', problems: [{ field: 'fixmedins_code' }] },
      ],
    });
    expect(s.world.deadLetters).toHaveLength(2);
    // An unbound key of the agency keeps today's behaviour.
    expect((await s.send(s.unbound, [other])).json()).toMatchObject({ accepted: 1 });
  });

  it('lets a key bound to a division prefix certify in that division only', async () => {
    const s = await boundServer('civil-affairs', { divisions: ['3303'] });
    const response = await s.send(s.bound, [
      validRaw['civil-affairs'],
      { ...validRaw['civil-affairs'], recordId: 'MZ-BJ', admdvs: '110105' },
    ]);
    expect(response.json()).toMatchObject({
      accepted: 1,
      rejected: 1,
      results: [{ status: 'accepted' }, { status: 'rejected', problems: [{ field: 'admdvs' }] }],
    });
  });
});
