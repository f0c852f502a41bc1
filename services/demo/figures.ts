import { topics, type AgencyCode, type DeliveryReceipt, type QuarterlyWarning, type TopicId, type TopicRecords } from '../../schemas';
import type { HubKafka } from '../kafka';
import { createTopicCodec, type RegistryClient } from '../registry';

/**
 * What the hub decided, read back from its topics (the system of record), for the demo's summary:
 * supplementary payments, the warnings of one region-period (the latest word per person), their
 * deliveries and the agencies' answers.
 */
export interface AgencyFigures {
  /** People warned to this agency (latest word per person-period, withdrawn ones left out). */
  warned: number;
  byReason: Record<string, number>;
  /** Warning records routed to it (corrections and withdrawals included), and what became of their delivery. */
  routed: number;
  delivered: number;
  dead: number;
  /** The agency's answers (回执) joined to the period's warnings, by outcome; assistance given in fen. */
  answers: Record<string, number>;
  assistanceFen: number;
}

export interface StoryFigures {
  readonly supplementary: { count: number; fen: number };
  readonly overpaidForReview: { count: number; fen: number };
  readonly subsidiesMissing: { count: number; fen: number };
  /** People warned for the period (to any agency). */
  readonly warned: number;
  readonly byAgency: Record<AgencyCode, AgencyFigures>;
  /** Warning records of the period on the topic (first words, corrections, withdrawals). */
  readonly warningRecords: number;
}

const agencies: readonly AgencyCode[] = ['CIVIL_AFFAIRS', 'RURAL_REVITALIZATION'];

async function readTopic<K extends TopicId>(kafka: HubKafka, registry: RegistryClient, prefix: string, id: K): Promise<TopicRecords[K][]> {
  const codec = createTopicCodec(registry, id, `${prefix}${topics[id].name}`);
  const records = await kafka.readAll(codec.topic).catch(() => []);
  const decoded: TopicRecords[K][] = [];
  for (const record of records) if (record.value !== null) decoded.push(await codec.decode(record.value));
  return decoded;
}

/** The last record of each slot, in topic order (a slot's records share its key, so one partition keeps their order). */
function latest<T>(records: readonly T[], slot: (record: T) => string): T[] {
  return [...new Map(records.map((r) => [slot(r), r])).values()];
}

export function latestWarnings(records: readonly QuarterlyWarning[]): QuarterlyWarning[] {
  const replaced = new Set(records.flatMap((w) => (w.supersedes === null ? [] : [w.supersedes])));
  return records.filter((w) => w.warned && !replaced.has(w.eventId));
}

export async function storyFigures(options: {
  kafka: HubKafka;
  registry: RegistryClient;
  topicPrefix: string;
  policyId: string;
  period: string;
}): Promise<StoryFigures> {
  const { kafka, registry, topicPrefix: prefix, policyId, period } = options;
  // One topic after another: a client's first calls made at once would each connect an admin client
  // of their own, and only the last one is closed with the client.
  const adjustmentRecords = await readTopic(kafka, registry, prefix, 'benefitAdjustments');
  const subsidyRecords = await readTopic(kafka, registry, prefix, 'subsidyCorrections');
  const warningRecords = await readTopic(kafka, registry, prefix, 'quarterlyWarnings');
  const receiptRecords = await readTopic(kafka, registry, prefix, 'deliveryReceipts');
  const adjustments = latest(adjustmentRecords, (a) => `${a.personKey} ${a.fixmedinsCode}/${a.setlId}`).filter(
    (a) => a.policyId === policyId,
  );
  const subsidies = latest(subsidyRecords, (s) => `${s.personKey} ${s.contributionRecordId}`).filter((s) => s.policyId === policyId);
  const sum = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0);
  const supplementary = adjustments.filter((a) => a.kind === 'SUPPLEMENTARY_PAYMENT');
  const overpaid = adjustments.filter((a) => a.kind === 'OVERPAID_FOR_REVIEW');
  const under = subsidies.filter((s) => s.kind === 'UNDER_SUBSIDISED');

  const ofPeriod = warningRecords.filter((w) => w.policyId === policyId && w.period === period);
  const current = latestWarnings(ofPeriod);
  const ids = new Set(ofPeriod.map((w) => w.eventId));
  const receipts = receiptRecords.filter((r) => ids.has(r.warningId));
  const byAgency = Object.fromEntries(
    agencies.map((agency) => {
      const figures: AgencyFigures = { warned: 0, byReason: {}, routed: 0, delivered: 0, dead: 0, answers: {}, assistanceFen: 0 };
      for (const w of current.filter((x) => x.routedTo.includes(agency))) {
        figures.warned += 1;
        for (const reason of w.reasons) figures.byReason[reason] = (figures.byReason[reason] ?? 0) + 1;
      }
      figures.routed = ofPeriod.filter((w) => w.routedTo.includes(agency)).length;
      // The hub's own word on each delivery: delivered, or dead (FAILED) unless delivered after a retry.
      const mine = receipts.filter((r) => r.agency === agency);
      const deliveredIds = new Set(mine.filter((r) => r.status === 'DELIVERED').map((r) => r.warningId));
      const deadIds = new Set(mine.filter((r) => r.status === 'FAILED' && !deliveredIds.has(r.warningId)).map((r) => r.warningId));
      figures.delivered = deliveredIds.size;
      figures.dead = deadIds.size;
      // The agency's answers: each receipt once (the same receiptId sent again is the same event id).
      for (const answer of latest(
        mine.filter((r) => r.outcome !== null),
        (r: DeliveryReceipt) => r.eventId,
      )) {
        const outcome = answer.outcome ?? '';
        figures.answers[outcome] = (figures.answers[outcome] ?? 0) + 1;
        figures.assistanceFen += answer.assistanceFen ?? 0;
      }
      return [agency, figures];
    }),
  ) as Record<AgencyCode, AgencyFigures>;
  return {
    supplementary: { count: supplementary.length, fen: sum(supplementary.map((a) => a.deltaFen)) },
    overpaidForReview: { count: overpaid.length, fen: -sum(overpaid.map((a) => a.deltaFen)) },
    subsidiesMissing: { count: under.length, fen: sum(under.map((s) => s.deltaFen)) },
    warned: current.length,
    byAgency,
    warningRecords: ofPeriod.length,
  };
}
