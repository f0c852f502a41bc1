import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { Transform, type TransformCallback } from 'node:stream';
import iconv from 'iconv-lite';
import { LogController, fastify, type FastifyReply, type FastifyRequest } from 'fastify';
import { HubError, isHubError, scrubIdNumbers, type HealthReport, type HubMetrics, type Logger } from '../../services/platform';
import type { AgencyDefinition, ImportFileOptions, ImportSummary, Intake, IntakeOutcome, RawRecord } from '../intake';
import type { KeyHolder } from './keys';
import { createFailedKeyLimiter } from './failed-keys';
import { classifyIntakeFailure, httpStatusOf } from './failures';

/** The batch-file importer (connectors/intake/file-import.ts), handed in so tests can replace it. */
export type ImportFile = (options: ImportFileOptions) => Promise<ImportSummary>;

export interface ConnectorLimits {
  /** Largest JSON body of POST /v1/records. */
  readonly bodyLimitBytes: number;
  /** Most records in one POST /v1/records. */
  readonly maxRecords: number;
  /** Largest file of POST /v1/files (counted while streaming). */
  readonly fileLimitBytes: number;
  /** How long a records request waits for Kafka before answering 503. */
  readonly ingestTimeoutMs: number;
  /** Retry-After of a 503, in seconds. */
  readonly retryAfterSeconds: number;
  /**
   * How long a connection may send nothing before it is closed: a caller that stalls in the middle
   * of a body held a connection (and its buffered bytes) for as long as it liked.
   */
  readonly idleTimeoutMs: number;
  /**
   * Failed API keys (unknown, revoked or none) one source address may present at once before it is
   * answered 429; they come back at this many per `failedKeyWindowMs`. Good keys are not counted.
   */
  readonly failedKeyAttempts: number;
  readonly failedKeyWindowMs: number;
  /** Most source addresses whose failed keys are remembered (the least recent are forgotten). */
  readonly failedKeyAddresses: number;
}

export const defaultLimits: ConnectorLimits = Object.freeze({
  bodyLimitBytes: 10 * 1024 * 1024,
  maxRecords: 10_000,
  fileLimitBytes: 256 * 1024 * 1024,
  ingestTimeoutMs: 30_000,
  retryAfterSeconds: 5,
  idleTimeoutMs: 30_000,
  failedKeyAttempts: 10,
  failedKeyWindowMs: 60_000,
  failedKeyAddresses: 10_000,
});

export interface ConnectorServerDependencies {
  readonly agency: AgencyDefinition;
  readonly intake: Intake;
  /** Tells who holds a presented key; the server re-asks on every request, so revocations bite at once. */
  readonly keys: { verify(presented: string): Promise<KeyHolder | undefined> };
  readonly logger: Logger;
  readonly metrics: HubMetrics;
  /** The full name of the agency's topic (prefix included), as a metrics label. */
  readonly topicName: string;
  readonly limits?: Partial<ConnectorLimits>;
  /** Kafka and Redis reachable; GET /readyz answers 503 otherwise. */
  readonly readiness?: () => Promise<HealthReport>;
  /** Absent: POST /v1/files answers 501. */
  readonly importFile?: ImportFile;
  /** PEM certificate and key: serve HTTPS directly. */
  readonly tls?: { readonly cert: Buffer | string; readonly key: Buffer | string };
}

/**
 * The answer to POST /v1/files: counts, and each rejected row with its problems (accepted rows are
 * not listed: a file may have a million). At most `maxListedRejections` rows are listed.
 */
export interface FileAnswer {
  readonly rows: number;
  readonly accepted: number;
  readonly duplicates: number;
  readonly rejected: number;
  readonly rejections: readonly IntakeOutcome[];
  readonly rejectionsTruncated: boolean;
}

const maxListedRejections = 10_000;

/** The answer to POST /v1/records: counts, then one entry per record in the order sent. */
export interface RecordsAnswer {
  readonly accepted: number;
  readonly duplicates: number;
  readonly rejected: number;
  readonly results: readonly IntakeOutcome[];
}

/** The routes and the methods each takes: another method on one of them is a 405, not a 404. */
const methodsOf: Readonly<Record<string, readonly string[]>> = {
  '/v1/records': ['POST'],
  '/v1/files': ['POST'],
  '/healthz': ['GET', 'HEAD'],
  '/readyz': ['GET', 'HEAD'],
  '/metrics': ['GET', 'HEAD'],
};

const requestIdPattern = /^[A-Za-z0-9._:-]{1,64}$/;

const fileFormats = ['csv', 'xlsx'] as const;
const fileEncodings = ['utf-8', 'gbk', 'auto'] as const;

/** Counts bytes of a streamed upload and fails it once it passes the limit. */
class ByteLimit extends Transform {
  private seen = 0;
  constructor(private readonly limit: number) {
    super();
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.limit) {
      callback(new HubError('REQUEST_TOO_LARGE', `the file is larger than ${this.limit} bytes`, { detail: { limitBytes: this.limit } }));
      return;
    }
    callback(null, chunk);
  }
}

/** The work's result, or the timeout's error once `ms` have passed (the work itself goes on). */
function withTimeout<T>(work: Promise<T>, ms: number, onTimeout: () => HubError): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

function isPlainObject(value: unknown): value is RawRecord {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The records of a request body, or the reason it is not `{ "records": [ {…}, … ] }`. */
function recordsOf(body: unknown, maxRecords: number): RawRecord[] {
  if (!isPlainObject(body)) throw new HubError('REQUEST_INVALID', 'the body must be a JSON object { "records": [ … ] }');
  const records = body.records;
  if (!Array.isArray(records)) throw new HubError('REQUEST_INVALID', 'the body must have a "records" array');
  if (records.length > maxRecords) {
    throw new HubError('REQUEST_TOO_LARGE', `${records.length} records in one request; at most ${maxRecords}: send several requests`, {
      detail: { maxRecords },
    });
  }
  // A record that is not an object is refused alone, by the intake (prepare.ts), like any bad record.
  return records as RawRecord[];
}

/**
 * The JSON body parser. JSON.parse, not fastify's default: that one refuses a whole request holding
 * a "__proto__" or "constructor" key anywhere (valid JSON) as "not valid JSON"; JSON.parse makes such
 * a key an ordinary own property, never a prototype, and the intake refuses that record alone. The
 * body is decoded by its charset: GBK (and GB18030) as Windows systems send, UTF-8 otherwise.
 */
function parseJsonBody(request: FastifyRequest, body: Buffer, done: (error: Error | null, value?: unknown) => void): void {
  const charset = /;\s*charset\s*=\s*"?([A-Za-z0-9_-]+)"?/i.exec(request.headers['content-type'] ?? '')?.[1]?.toLowerCase() ?? 'utf-8';
  let text: string;
  if (charset === 'utf-8' || charset === 'utf8') {
    text = body.toString('utf8');
  } else if (charset === 'gbk' || charset === 'gb2312' || charset === 'gb18030') {
    text = iconv.decode(body, 'gb18030');
  } else {
    done(new HubError('UNSUPPORTED_MEDIA_TYPE', `charset=${charset} is not read here: send UTF-8 or GBK`));
    return;
  }
  try {
    done(null, JSON.parse(text) as unknown);
  } catch (error) {
    done(error as Error);
  }
}

/**
 * The push API of one agency's connector. Routes:
 * - `POST /v1/records` `{ "records": [ … ] }`: validates, pseudonymises and publishes; one answer per record.
 * - `POST /v1/files?format=csv|xlsx&encoding=utf-8|gbk|auto`: a batch file as the raw body.
 * - `GET /healthz`, `GET /readyz`, `GET /metrics`.
 *
 * Everything under /v1 needs `Authorization: Bearer <key>` with a key of this agency. The server is
 * returned unstarted: tests drive it with `inject`, the role calls `listen`.
 */
export function createConnectorServer(deps: ConnectorServerDependencies) {
  const limits: ConnectorLimits = { ...defaultLimits, ...deps.limits };
  const { agency, metrics, topicName } = deps;
  // Requests overlap; the intake keeps their batches in the order they reach it (see createIntake).
  // The push API prepares on its own thread, a file's rows too: the importer gets the intake without
  // `offload`, so an upload does not start a worker thread (a thread and a heap) per request.
  const intakeHere: Intake = { ingest: (items, channel) => deps.intake.ingest(items, channel) };
  const holders = new WeakMap<FastifyRequest, KeyHolder>();
  const failedKeys = createFailedKeyLimiter({
    attempts: limits.failedKeyAttempts,
    windowMs: limits.failedKeyWindowMs,
    maxAddresses: limits.failedKeyAddresses,
  });
  const presentedKey = (request: FastifyRequest): string | undefined =>
    /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '')?.[1];
  const isAgencyRoute = (request: FastifyRequest): boolean => request.url.startsWith('/v1/');

  const app = fastify({
    loggerInstance: deps.logger,
    bodyLimit: limits.bodyLimitBytes,
    // Our own id check: an incoming x-request-id is kept only when it is a plain token, so callers
    // cannot write arbitrary text into the logs.
    requestIdHeader: false,
    genReqId: (request) => {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && requestIdPattern.test(given) ? given : randomUUID();
    },
    // One line per request from the hook below instead of fastify's pair: it names the path without
    // the query, the status and the time, and it survives the hub logger's scrubbing of objects.
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    serverFactory: (handler) => {
      const server =
        deps.tls === undefined ? createServer(handler) : createHttpsServer({ cert: deps.tls.cert, key: deps.tls.key }, handler);
      // Set here: fastify's connectionTimeout option does not reach a server made by serverFactory.
      server.setTimeout(limits.idleTimeoutMs, (socket) => {
        socket.destroy();
      });
      return server;
    },
  });

  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    parseJsonBody(request, body as Buffer, done);
  });

  const sendError = (request: FastifyRequest, reply: FastifyReply, error: HubError): FastifyReply => {
    const status = httpStatusOf(error.code);
    metrics.errors.inc({ code: error.code });
    if (status >= 500) request.log.error({ code: error.code, err: error }, 'request failed');
    else request.log.info({ code: error.code, reason: error.message }, 'request refused');
    if (status === 503) void reply.header('retry-after', String(limits.retryAfterSeconds));
    if (status === 429)
      void reply.header('retry-after', String(typeof error.detail.retryAfterSeconds === 'number' ? error.detail.retryAfterSeconds : 1));
    if (status === 401) void reply.header('www-authenticate', `Bearer realm="hub-${agency.id}"`);
    return reply.code(status).send({ error: { code: error.code, message: error.message } });
  };

  app.addHook('onSend', (request, reply, payload, done) => {
    void reply.header('x-request-id', request.id);
    done(null, payload);
  });

  // An address that presented too many failed keys is answered 429 before anything else is done
  // for it, unless it presents a live key now: whoever holds one is never slowed by another's guesses.
  app.addHook('onRequest', async (request) => {
    if (!isAgencyRoute(request)) return;
    const wait = failedKeys.retryAfterSeconds(request.ip);
    if (wait === 0) return;
    const key = presentedKey(request);
    if (key !== undefined && (await deps.keys.verify(key)) !== undefined) return;
    throw new HubError(
      'TOO_MANY_FAILED_KEYS',
      `too many requests with an unknown, revoked or missing API key from this address; try again in ${wait} s`,
      {
        detail: { retryAfterSeconds: wait },
      },
    );
  });

  app.addHook('onResponse', (request, reply, done) => {
    if (reply.statusCode === 401 && isAgencyRoute(request)) failedKeys.failed(request.ip);
    request.log.info(
      {
        method: request.method,
        path: request.url.split('?')[0],
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime),
        ...(holders.has(request) ? { keyId: holders.get(request)?.keyId } : {}),
      },
      'request',
    );
    done();
  });

  app.setErrorHandler((error: unknown, request, reply) => {
    if (isHubError(error)) return sendError(request, reply, error);
    const statusCode = (error as { statusCode?: unknown }).statusCode;
    const message = error instanceof Error ? scrubIdNumbers(error.message) : 'request failed';
    if (statusCode === 413)
      return sendError(request, reply, new HubError('REQUEST_TOO_LARGE', `the body is larger than ${limits.bodyLimitBytes} bytes`));
    if (statusCode === 415) {
      return sendError(
        request,
        reply,
        new HubError(
          'UNSUPPORTED_MEDIA_TYPE',
          `content-type ${request.headers['content-type'] ?? '(none)'} is not read here: send application/json`,
        ),
      );
    }
    if (error instanceof SyntaxError)
      return sendError(request, reply, new HubError('REQUEST_INVALID', `the body is not valid JSON: ${message}`));
    if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
      return sendError(request, reply, new HubError('REQUEST_INVALID', message));
    }
    return sendError(request, reply, classifyIntakeFailure(error));
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    const allowed = methodsOf[path];
    if (allowed !== undefined) {
      void reply.header('allow', allowed.join(', '));
      return sendError(request, reply, new HubError('METHOD_NOT_ALLOWED', `${path} takes ${allowed.join(' or ')}, not ${request.method}`));
    }
    return sendError(request, reply, new HubError('NOT_FOUND', `no route ${request.method} ${path}`));
  });

  app.get('/healthz', () => ({ ok: true }));

  app.get('/readyz', async (_request, reply) => {
    const report = deps.readiness === undefined ? { ok: true, checks: {} } : await deps.readiness();
    return reply.code(report.ok ? 200 : 503).send(report);
  });

  app.get('/metrics', async (_request, reply) =>
    reply.header('content-type', metrics.registry.contentType).send(await metrics.registry.metrics()),
  );

  // Everything an agency sends: authenticated before the body is read, so an unknown caller cannot
  // make the connector parse megabytes.
  void app.register((v1, _options, done) => {
    v1.addHook('onRequest', async (request) => {
      const key = presentedKey(request);
      if (key === undefined) throw new HubError('AUTH_REQUIRED', 'send the agency API key as "Authorization: Bearer <key>"');
      const holder = await deps.keys.verify(key);
      if (holder === undefined) throw new HubError('AUTH_REQUIRED', 'the API key is unknown or revoked');
      if (holder.agency !== agency.id) {
        throw new HubError(
          'FORBIDDEN',
          `key ${holder.keyId} belongs to ${holder.agency}; it writes to that agency's connector only, not ${agency.id}`,
          {
            detail: { keyId: holder.keyId, keyAgency: holder.agency },
          },
        );
      }
      holders.set(request, holder);
    });

    v1.post('/v1/records', async (request): Promise<RecordsAnswer> => {
      const records = recordsOf(request.body, limits.maxRecords);
      const holder = holders.get(request);
      const channel = `api:${holder?.keyId ?? 'unknown'}`;
      const scope = holder?.scope;
      const items = records.map((raw, index) => ({
        raw,
        rawFormat: 'json' as const,
        position: `records[${index}]`,
        ...(scope === undefined ? {} : { scope }),
      }));
      let outcomes: IntakeOutcome[];
      try {
        outcomes = await withTimeout(
          deps.intake.ingest(items, channel),
          limits.ingestTimeoutMs,
          () =>
            new HubError(
              'KAFKA_UNAVAILABLE',
              `the records were not confirmed on the topic within ${limits.ingestTimeoutMs} ms; ` +
                'send them again later (a resend is recognised)',
            ),
        );
      } catch (error) {
        throw classifyIntakeFailure(error);
      }
      const answer: RecordsAnswer = {
        accepted: outcomes.filter((o) => o.status === 'accepted').length,
        duplicates: outcomes.filter((o) => o.status === 'duplicate').length,
        rejected: outcomes.filter((o) => o.status === 'rejected').length,
        results: outcomes,
      };
      countOutcomes(answer.accepted, answer.duplicates, answer.rejected);
      request.log.info(
        {
          keyId: holder?.keyId,
          records: records.length,
          accepted: answer.accepted,
          duplicates: answer.duplicates,
          rejected: answer.rejected,
        },
        'records taken',
      );
      return answer;
    });

    void v1.register((files, _options, filesDone) => {
      // A batch file is streamed to the importer, never held whole in memory.
      files.removeAllContentTypeParsers();
      files.addContentTypeParser('*', (_request, payload, parsed) => {
        parsed(null, payload);
      });
      files.post('/v1/files', async (request, reply) => {
        const query = request.query as Record<string, unknown>;
        const format = fileFormats.find((f) => f === query.format);
        if (format === undefined) throw new HubError('REQUEST_INVALID', `give ?format=${fileFormats.join('|')}`);
        const encoding = query.encoding === undefined ? undefined : fileEncodings.find((e) => e === query.encoding);
        if (query.encoding !== undefined && encoding === undefined)
          throw new HubError('REQUEST_INVALID', `encoding must be one of ${fileEncodings.join(', ')}`);
        const declared = Number(request.headers['content-length'] ?? 0);
        if (declared > limits.fileLimitBytes)
          throw new HubError('REQUEST_TOO_LARGE', `the file is larger than ${limits.fileLimitBytes} bytes`);
        if (deps.importFile === undefined)
          return reply.code(501).send({ error: { code: 'NOT_BUILT', message: 'file import is not available in this connector' } });
        const body = request.body as NodeJS.ReadableStream;
        const input = body.pipe(new ByteLimit(limits.fileLimitBytes));
        body.on('error', (error: Error) => input.destroy(error));
        // The rejections are what the agency needs back, so they are collected here rather than in a
        // report file on the server.
        const rejections: IntakeOutcome[] = [];
        let truncated = false;
        const collect = (outcomes: readonly IntakeOutcome[]): void => {
          for (const outcome of outcomes) {
            if (outcome.status !== 'rejected') continue;
            if (rejections.length < maxListedRejections) rejections.push(outcome);
            else truncated = true;
          }
        };
        const keyId = holders.get(request)?.keyId ?? 'unknown';
        let summary: ImportSummary;
        try {
          const scope = holders.get(request)?.scope;
          summary = await deps.importFile({
            agency,
            input,
            format,
            intake: intakeHere,
            onOutcomes: collect,
            channel: `file-api:${keyId}`,
            ...(encoding === undefined ? {} : { encoding }),
            ...(scope === undefined ? {} : { scope }),
          });
        } catch (error) {
          throw classifyIntakeFailure(error);
        }
        countOutcomes(summary.accepted, summary.duplicates, summary.rejected);
        request.log.info(
          { keyId, rows: summary.rows, accepted: summary.accepted, duplicates: summary.duplicates, rejected: summary.rejected },
          'file taken',
        );
        const answer: FileAnswer = {
          rows: summary.rows,
          accepted: summary.accepted,
          duplicates: summary.duplicates,
          rejected: summary.rejected,
          rejections,
          rejectionsTruncated: truncated,
        };
        return answer;
      });
      filesDone();
    });
    done();
  });

  function countOutcomes(accepted: number, duplicates: number, rejected: number): void {
    if (accepted > 0) metrics.records.inc({ topic: topicName, outcome: 'accepted' }, accepted);
    if (duplicates > 0) metrics.records.inc({ topic: topicName, outcome: 'duplicate' }, duplicates);
    if (rejected > 0) metrics.records.inc({ topic: topicName, outcome: 'rejected' }, rejected);
  }

  return app;
}

export type ConnectorServer = ReturnType<typeof createConnectorServer>;
