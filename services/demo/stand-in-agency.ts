import { createHmac, timingSafeEqual } from 'node:crypto';
import { appendFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { HubError, describeError } from '../platform';

/**
 * A stand-in for an agency's own system (民政 or 乡村振兴), as the README tells an integrator to
 * build one: a webhook that checks the hub's HMAC signature on the raw bytes before parsing,
 * refuses a timestamp more than 300 seconds from its clock, keeps each delivery once (by
 * `deliveryId`), answers 2xx once stored, and afterwards sends its answers (回执) back through the
 * agency's connector (`POST /v1/receipts` with the agency's API key). Nothing here imports the
 * hub's own signing code: it is what another party would write from the README.
 */
export interface StandInWarning {
  readonly warningId: string;
  readonly supersedes: string | null;
  readonly warned: boolean;
  readonly policyId: string;
  readonly period: string;
  readonly idNumber: string;
  readonly personKey: string;
  readonly categories: readonly string[];
  readonly reasons: readonly string[];
  readonly selfPayFen: number;
  readonly thresholdFen: number;
}

/** One warning as received: a request carries one or more (`warnings`), each kept as its own delivery. */
export interface StandInDelivery {
  readonly deliveryId: string;
  readonly agency: string;
  readonly warning: StandInWarning;
  /** The raw body and headers as received, for a check by someone else. */
  readonly rawBody: Buffer;
  readonly headers: IncomingHttpHeaders;
}

/** The answer the agency sends for a warning it received; null sends none. */
export type ReceiptPolicy = (delivery: StandInDelivery) => Record<string, unknown> | null;

export interface StandInStats {
  /** Warnings stored (each request's, by deliveryId, once). */
  readonly received: number;
  /** Requests that arrived again with a deliveryId already stored (answered 200, not stored twice). */
  readonly repeated: number;
  /** Requests refused: bad or missing signature, stale timestamp (401), or a body that is not a delivery (400). */
  readonly refused: number;
  readonly receiptsSent: number;
  readonly receiptsAccepted: number;
  readonly receiptsRejected: number;
  /** Receipt requests the connector did not take (transport error or non-2xx), with the last reason. */
  readonly receiptFailures: number;
  readonly lastReceiptError: string | null;
}

export interface StandInAgency {
  readonly name: string;
  readonly url: string;
  readonly received: readonly StandInDelivery[];
  stats(): StandInStats;
  /** Resolves once every receipt due for what was received so far has been sent and answered. */
  settled(): Promise<void>;
  close(): Promise<void>;
}

export interface StandInOptions {
  /** For messages: civil-affairs, rural-revitalization. */
  readonly name: string;
  /** The webhook secret the hub signs with (shared with the agency). */
  readonly secret: string;
  /** The agency's connector (its push API), e.g. http://127.0.0.1:8101, and its API key. */
  readonly connectorUrl: string;
  readonly apiKey: string;
  readonly receiptFor: ReceiptPolicy;
  /** A file each stored delivery is appended to as one JSON line, without the clear ID number. */
  readonly logFile?: string;
  /** Receipts per request (default 200) and the wait before a partial batch goes (default 300 ms). */
  readonly batchSize?: number;
  readonly flushMs?: number;
}

/** The README's check, as an agency writes it: `sha256=` + hex HMAC-SHA256 of `<timestamp>.<raw body>`. */
export function verifiedAsReadmeSays(rawBody: Buffer, headers: IncomingHttpHeaders, secret: string, nowMs = Date.now()): boolean {
  const ts = headerValue(headers['x-hub-timestamp']);
  if (!/^\d+$/.test(ts ?? '') || Math.abs(nowMs / 1000 - Number(ts)) > 300) return false;
  const want = Buffer.from(
    `sha256=${createHmac('sha256', secret)
      .update(`${ts ?? ''}.`)
      .update(rawBody)
      .digest('hex')}`,
  );
  const got = Buffer.from(headerValue(headers['x-hub-signature']) ?? '');
  return want.length === got.length && timingSafeEqual(want, got);
}

const headerValue = (value: string | string[] | undefined): string | undefined => (Array.isArray(value) ? value[0] : value);

const maxBodyBytes = 1024 * 1024;

function isWarning(value: unknown): value is StandInWarning {
  const w = value as { warningId?: unknown; period?: unknown } | null;
  return typeof w === 'object' && w !== null && typeof w.warningId === 'string' && typeof w.period === 'string';
}

function isDelivery(value: unknown): value is { deliveryId: string; agency: string; warnings: StandInWarning[] } {
  const v = value as { deliveryId?: unknown; agency?: unknown; warnings?: unknown } | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.deliveryId === 'string' &&
    typeof v.agency === 'string' &&
    Array.isArray(v.warnings) &&
    v.warnings.length > 0 &&
    v.warnings.every(isWarning)
  );
}

/** A national ID number as an agency's log would keep it beside the hub's person key: first 3 and last 4. */
const masked = (id: string): string =>
  id.length <= 7 ? '*'.repeat(id.length) : `${id.slice(0, 3)}${'*'.repeat(id.length - 7)}${id.slice(-4)}`;

/** Starts a stand-in agency on 127.0.0.1 (an ephemeral port unless given); its webhook is `<url>/hub-warnings`. */
export async function startStandInAgency(options: StandInOptions, port = 0): Promise<StandInAgency> {
  const received: StandInDelivery[] = [];
  const seen = new Set<string>();
  const counts = { repeated: 0, refused: 0, receiptsSent: 0, receiptsAccepted: 0, receiptsRejected: 0, receiptFailures: 0 };
  let lastReceiptError: string | null = null;
  const pending: Record<string, unknown>[] = [];
  let timer: NodeJS.Timeout | undefined;
  let sending: Promise<void> = Promise.resolve();
  let logWrites: Promise<void> = Promise.resolve();
  const batchSize = options.batchSize ?? 200;
  const flushMs = options.flushMs ?? 300;

  const post = async (receipts: Record<string, unknown>[]): Promise<void> => {
    for (let attempt = 1; ; attempt += 1) {
      try {
        const response = await fetch(new URL('/v1/receipts', options.connectorUrl), {
          method: 'POST',
          body: JSON.stringify({ receipts }),
          headers: { authorization: `Bearer ${options.apiKey}`, 'content-type': 'application/json' },
          signal: AbortSignal.timeout(30_000),
        });
        const answer = (await response.json().catch(() => ({}))) as { accepted?: number; rejected?: unknown[]; message?: string };
        // 422: none accepted (each refused by position); anything else not 2xx is the connector's trouble: try again.
        if (response.ok || response.status === 422) {
          counts.receiptsSent += receipts.length;
          counts.receiptsAccepted += answer.accepted ?? 0;
          counts.receiptsRejected += Array.isArray(answer.rejected) ? answer.rejected.length : 0;
          return;
        }
        lastReceiptError = `HTTP ${response.status}${answer.message === undefined ? '' : `: ${answer.message}`}`;
      } catch (error) {
        lastReceiptError = describeError(error);
      }
      if (attempt >= 5) {
        counts.receiptFailures += receipts.length;
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
    }
  };
  const flush = (): void => {
    if (timer !== undefined) {
      clearTimeout(timer);
      timer = undefined;
    }
    while (pending.length > 0) {
      const batch = pending.splice(0, batchSize);
      sending = sending.then(() => post(batch));
    }
  };
  const queueReceipt = (receipt: Record<string, unknown>): void => {
    pending.push(receipt);
    if (pending.length >= batchSize) flush();
    else timer ??= setTimeout(flush, flushMs);
  };

  const server: Server = createServer((request, response) => {
    if (request.method !== 'POST' || request.url !== '/hub-warnings') {
      response.writeHead(404).end();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBodyBytes) chunks.push(chunk);
    });
    request.on('end', () => {
      const rawBody = Buffer.concat(chunks);
      if (size > maxBodyBytes || !verifiedAsReadmeSays(rawBody, request.headers, options.secret)) {
        counts.refused += 1;
        response.writeHead(401).end();
        return;
      }
      let body: unknown;
      try {
        body = JSON.parse(rawBody.toString('utf8'));
      } catch {
        body = undefined;
      }
      if (!isDelivery(body)) {
        counts.refused += 1;
        response.writeHead(400).end();
        return;
      }
      if (seen.has(body.deliveryId)) {
        counts.repeated += 1;
        response.writeHead(200).end();
        return;
      }
      seen.add(body.deliveryId);
      const deliveries: StandInDelivery[] = body.warnings.map((warning) => ({
        deliveryId: body.deliveryId,
        agency: body.agency,
        warning,
        rawBody,
        headers: request.headers,
      }));
      received.push(...deliveries);
      if (options.logFile !== undefined) {
        const receivedAt = new Date().toISOString();
        const lines = body.warnings
          .map(({ idNumber, ...rest }) => {
            const warning = { ...rest, idNumber: masked(idNumber) };
            return `${JSON.stringify({ deliveryId: body.deliveryId, agency: body.agency, receivedAt, warning })}\n`;
          })
          .join('');
        const file = options.logFile;
        logWrites = logWrites.then(() => appendFile(file, lines, { mode: 0o600 })).catch(() => undefined);
      }
      response.writeHead(200).end();
      for (const delivery of deliveries) {
        const receipt = options.receiptFor(delivery);
        if (receipt !== null) queueReceipt(receipt);
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  }).catch((error: unknown) => {
    throw new HubError('UNAVAILABLE', `the ${options.name} stand-in cannot listen on 127.0.0.1:${port}: ${describeError(error)}`, {
      cause: error,
    });
  });
  const address = server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : port}`;

  return {
    name: options.name,
    url,
    received,
    stats: () => ({ received: received.length, ...counts, lastReceiptError }),
    async settled() {
      flush();
      await sending;
      await logWrites;
    },
    async close() {
      flush();
      await sending;
      await logWrites;
      server.closeAllConnections();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
      });
    },
  };
}
