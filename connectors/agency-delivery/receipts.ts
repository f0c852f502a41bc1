import { createHash } from 'node:crypto';
import type { ConnectorServer } from '../api';
import type { Redis } from 'ioredis';
import {
  civilAffairsCategories,
  ruralRevitalizationCategories,
  topics,
  topicSpec,
  type AgencyCode,
  type DeliveryReceipt,
  type FollowUpOutcome,
} from '../../schemas';
import type { HubKafka, HubProducer } from '../../services/kafka';
import { HubError, loadConfig, type Environment, type Logger } from '../../services/platform';
import { createTopicCodec } from '../../services/registry';
import { createRegistryClient } from '../../services/registry/runtime';
import { agencyEndpoints, agencyOfConnector } from './agencies';

/**
 * Receipts and follow-up (回执): an agency's answer to a warning, sent to its own connector's push
 * API as `POST /v1/receipts` with the same API key as its records. Each receipt names the warning
 * (its `warningId`, as delivered) and one outcome: RECEIVED; ASSISTANCE_GIVEN with a kind and an
 * amount in yuan; CERTIFIED with the category certified (因病致贫 …); NO_ACTION with a reason.
 * A receipt is joined to its warning at the door: an unknown warning, or one not routed to this
 * agency, is refused. Accepted receipts go to `warnings.delivery-receipts`, carrying the warning's
 * person key and period; the agency's `receiptId` makes a resend the same receipt (same event id).
 */
export interface ReceiptInput {
  readonly receiptId: string;
  readonly warningId: string;
  readonly outcome: FollowUpOutcome;
  readonly assistanceKind?: string;
  /** Yuan with at most two decimals, as text: "1500.00". */
  readonly assistanceAmount?: string;
  readonly certifiedCategory?: string;
  readonly reason?: string;
  /** When the agency decided, Asia/Shanghai 'YYYY-MM-DD HH:mm:ss'; default: now. */
  readonly decidedAt?: string;
}

export interface ReceiptsAnswer {
  readonly accepted: number;
  readonly rejected: { readonly position: string; readonly code: string; readonly message: string }[];
  readonly receipts: { readonly position: string; readonly eventId: string }[];
}

const outcomes: readonly FollowUpOutcome[] = ['RECEIVED', 'ASSISTANCE_GIVEN', 'CERTIFIED', 'NO_ACTION'];
const statusOf: Readonly<Record<FollowUpOutcome, DeliveryReceipt['status']>> = {
  RECEIVED: 'ACKNOWLEDGED',
  CERTIFIED: 'FOLLOW_UP_STARTED',
  ASSISTANCE_GIVEN: 'FOLLOW_UP_CLOSED',
  NO_ACTION: 'FOLLOW_UP_CLOSED',
};
const categoriesOf: Readonly<Record<AgencyCode, readonly string[]>> = {
  CIVIL_AFFAIRS: civilAffairsCategories,
  RURAL_REVITALIZATION: ruralRevitalizationCategories,
};
const maxReceipts = 10_000;

/** Yuan text to integer fen without floating point; undefined when malformed. */
export function yuanToFen(text: string): number | undefined {
  const match = /^(\d{1,12})(?:\.(\d{1,2}))?$/.exec(text.trim());
  if (match === null) return undefined;
  return Number(match[1]) * 100 + Number((match[2] ?? '').padEnd(2, '0'));
}

function text(value: unknown, field: string, max = 200): string {
  if (typeof value !== 'string' || value.trim() === '' || value.length > max)
    throw new HubError('INPUT_INVALID', `${field}: a text of 1 to ${max} characters is required`, { detail: { field } });
  return value.trim();
}

/** Validates one receipt as sent, before the join. Throws INPUT_INVALID naming the field. */
export function readReceipt(raw: unknown, agency: AgencyCode): ReceiptInput & { assistanceFen: number | null; decidedAtMs: number | null } {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new HubError('INPUT_INVALID', 'a receipt is a JSON object');
  const r = raw as Record<string, unknown>;
  const receiptId = text(r.receiptId, 'receiptId', 64);
  const warningId = text(r.warningId, 'warningId', 80);
  const outcome = outcomes.find((o) => o === r.outcome);
  if (outcome === undefined)
    throw new HubError('INPUT_INVALID', `outcome: one of ${outcomes.join(', ')}`, { detail: { field: 'outcome' } });
  let assistanceFen: number | null = null;
  const base = { receiptId, warningId, outcome };
  const extra: { assistanceKind?: string; assistanceAmount?: string; certifiedCategory?: string; reason?: string } = {};
  if (outcome === 'ASSISTANCE_GIVEN') {
    extra.assistanceKind = text(r.assistanceKind, 'assistanceKind', 100);
    extra.assistanceAmount = text(r.assistanceAmount, 'assistanceAmount', 20);
    const fen = yuanToFen(extra.assistanceAmount);
    if (fen === undefined)
      throw new HubError('INPUT_INVALID', 'assistanceAmount: yuan with at most two decimals, such as "1500.00"', {
        detail: { field: 'assistanceAmount' },
      });
    assistanceFen = fen;
  }
  if (outcome === 'CERTIFIED') {
    extra.certifiedCategory = text(r.certifiedCategory, 'certifiedCategory', 40);
    if (!categoriesOf[agency].includes(extra.certifiedCategory)) {
      throw new HubError('INPUT_INVALID', `certifiedCategory: one of ${categoriesOf[agency].join(', ')}`, {
        detail: { field: 'certifiedCategory' },
      });
    }
  }
  if (outcome === 'NO_ACTION') extra.reason = text(r.reason, 'reason', 500);
  let decidedAtMs: number | null = null;
  if (r.decidedAt !== undefined && r.decidedAt !== null) {
    const match = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})$/.exec(typeof r.decidedAt === 'string' ? r.decidedAt : '');
    decidedAtMs = match === null ? Number.NaN : Date.parse(`${match[1]}T${match[2]}+08:00`);
    if (Number.isNaN(decidedAtMs))
      throw new HubError('INPUT_INVALID', "decidedAt: 'YYYY-MM-DD HH:mm:ss' (Asia/Shanghai)", { detail: { field: 'decidedAt' } });
  }
  return { ...base, ...extra, assistanceFen, decidedAtMs };
}

/** The join data the warning run keeps per warning (services/warnings warning-run.ts `index`). */
interface IndexEntry {
  personKey: string;
  period: string;
  routedTo: string[];
}

export interface ReceiptDependencies {
  readonly agency: AgencyCode;
  readonly redis: Redis;
  /** Hash of warning event id → join data. */
  readonly indexKey: string;
  readonly channel: DeliveryReceipt['channel'];
  readonly publish: (receipts: readonly DeliveryReceipt[]) => Promise<void>;
  readonly now?: () => number;
}

/** Validates, joins and publishes a request's receipts. */
export async function acceptReceipts(deps: ReceiptDependencies, body: unknown): Promise<ReceiptsAnswer> {
  const list = (body as { receipts?: unknown } | null)?.receipts;
  if (!Array.isArray(list) || list.length === 0) throw new HubError('REQUEST_INVALID', 'send {"receipts":[…]} with at least one receipt');
  if (list.length > maxReceipts) throw new HubError('REQUEST_TOO_LARGE', `at most ${maxReceipts} receipts per request`);
  const now = (deps.now ?? Date.now)();
  const rejected: ReceiptsAnswer['rejected'] = [];
  const accepted: { position: string; receipt: DeliveryReceipt }[] = [];
  const parsed = list
    .map((raw: unknown, index) => {
      try {
        return { position: `receipts[${index}]`, input: readReceipt(raw, deps.agency) };
      } catch (error) {
        const e = error instanceof HubError ? error : new HubError('INPUT_INVALID', String(error));
        rejected.push({ position: `receipts[${index}]`, code: e.code, message: e.message });
        return undefined;
      }
    })
    .filter((p) => p !== undefined);
  const entries = parsed.length === 0 ? [] : await deps.redis.hmget(deps.indexKey, ...parsed.map((p) => p.input.warningId));
  parsed.forEach(({ position, input }, i) => {
    const raw = entries[i];
    if (raw === null || raw === undefined) {
      rejected.push({ position, code: 'INPUT_INVALID', message: `warningId: no warning ${input.warningId} was sent` });
      return;
    }
    const entry = JSON.parse(raw) as IndexEntry;
    if (!entry.routedTo.includes(deps.agency)) {
      rejected.push({ position, code: 'FORBIDDEN', message: `warning ${input.warningId} was not routed to ${deps.agency}` });
      return;
    }
    const eventId = `rcpt-${createHash('sha256').update(`${deps.agency}\u0000${input.receiptId}`).digest('hex').slice(0, 32)}`;
    accepted.push({
      position,
      receipt: {
        eventId,
        source: `${deps.agency}:api:receipts`,
        occurredAt: input.decidedAtMs ?? now,
        recordedAt: now,
        warningId: input.warningId,
        agency: deps.agency,
        channel: deps.channel,
        status: statusOf[input.outcome],
        attempt: 0,
        detail: null,
        outcome: input.outcome,
        assistanceKind: input.assistanceKind ?? null,
        assistanceFen: input.assistanceFen,
        certifiedCategory: input.certifiedCategory ?? null,
        reason: input.reason ?? null,
        agencyRecordId: input.receiptId,
        personKey: entry.personKey,
        period: entry.period,
      },
    });
  });
  if (accepted.length > 0) await deps.publish(accepted.map((a) => a.receipt));
  // In request order, whichever check refused them.
  const order = (position: string): number => Number(/\d+/.exec(position)?.[0] ?? 0);
  rejected.sort((a, b) => order(a.position) - order(b.position));
  return { accepted: accepted.length, rejected, receipts: accepted.map((a) => ({ position: a.position, eventId: a.receipt.eventId })) };
}

/**
 * Adds `POST /v1/receipts` to the civil-affairs or rural-revitalization connector. It checks the
 * agency key itself, as the connector's records route does (Bearer key of this agency only).
 * Other connectors get nothing.
 */
export async function registerReceiptsRoute(
  app: ConnectorServer,
  options: {
    connector: string;
    env: Environment;
    kafka: HubKafka;
    producer: HubProducer;
    redis: Redis;
    logger: Logger;
    keys: { verify(presented: string): Promise<{ keyId: string; agency: string } | undefined> };
  },
): Promise<void> {
  const agency = agencyOfConnector(options.connector);
  if (agency === undefined) return;
  const config = loadConfig(options.env, ['schemaRegistryUrl', 'topicPrefix']);
  const topic = options.kafka.topicName(topics.deliveryReceipts.name);
  await options.kafka.ensureTopics([topicSpec('deliveryReceipts', options.kafka.settings.topicPrefix)]);
  const codec = createTopicCodec(createRegistryClient(config.schemaRegistryUrl), 'deliveryReceipts', topic);
  const channel = agencyEndpoints(options.env).get(agency)?.webhook === undefined ? 'EXPORT_FILE' : 'WEBHOOK';
  const deps: ReceiptDependencies = {
    agency,
    redis: options.redis,
    indexKey: `hub:warnings:${config.topicPrefix}:index`,
    channel,
    publish: async (receipts) => {
      const records = await Promise.all(receipts.map(async (r) => ({ key: r.personKey ?? r.warningId, value: await codec.encode(r) })));
      await options.producer.send(topic, records);
    },
  };
  app.post('/v1/receipts', async (request, reply) => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '');
    const holder = match?.[1] === undefined ? undefined : await options.keys.verify(match[1]);
    if (holder === undefined) throw new HubError('AUTH_REQUIRED', 'send the agency API key as "Authorization: Bearer <key>"');
    if (holder.agency !== options.connector)
      throw new HubError('FORBIDDEN', `key ${holder.keyId} belongs to ${holder.agency}, not ${options.connector}`);
    const answer = await acceptReceipts(deps, request.body);
    options.logger.info({ keyId: holder.keyId, accepted: answer.accepted, rejected: answer.rejected.length }, 'receipts');
    return reply.code(answer.rejected.length > 0 && answer.accepted === 0 ? 422 : 200).send(answer);
  });
}
