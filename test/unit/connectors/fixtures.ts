import type { TopicRecords } from '../../../schemas';
import {
  createIntake,
  type AgencyDefinition,
  type InboundTopicId,
  type Intake,
  type RawRecord,
  type SeenFacts,
  type SourceVersions,
} from '../../../connectors/intake';
import { checkCharacter, type IdentitySecrets } from '../../../services/identity';
import type { DeadLetterInput, DeadLetterWriter, OutboundBatch, OutboundRecord, TransactionalPublisher } from '../../../services/kafka';
import type { TopicCodec } from '../../../services/registry';

/** A GB 11643 number with the right check character for the given first 17 digits. */
export function validId(first17: string): string {
  return `${first17}${checkCharacter(first17)}`;
}

/** Same number with a wrong check character. */
export function wrongCheckDigit(first17: string): string {
  const right = checkCharacter(first17);
  return `${first17}${right === '1' ? '2' : '1'}`;
}

export const zhangSan = { idNumber: validId('11010519491231002'), name: '张三' };
export const liSi = { idNumber: validId('33030219800101123'), name: '李四' };

export const secrets: IdentitySecrets = {
  personKeySecret: Buffer.alloc(32, 0x11),
  idEncryptionKey: Buffer.alloc(32, 0x22),
};

/** A fixed clock: 2019-06-01 12:00 in Shanghai, so every 2019 date in the samples is in the past. */
export const fixedNow = Date.parse('2019-06-01T12:00:00+08:00');

/** One valid raw record per agency, with the canonical field names each agency's `read` expects. */
export const validRaw = {
  'civil-affairs': {
    recordId: 'MZ-2019-0001',
    version: 1,
    idNumber: zhangSan.idNumber,
    name: zhangSan.name,
    admdvs: '330302',
    category: 'DIBAO',
    action: 'CERTIFY',
    validFrom: '2019-03-01',
    decidedAt: '2019-02-27 10:00:00',
  },
  'rural-revitalization': {
    recordId: 'XC-77',
    version: 2,
    idNumber: liSi.idNumber,
    name: liSi.name,
    admdvs: '330302',
    category: 'MONITORED',
    action: 'RISK_ELIMINATED',
    validFrom: '2018-06-01',
    validTo: '2019-03-15',
    decidedAt: '2019-03-10 09:30:00',
  },
  hospitals: {
    fixmedins_code: 'H33030200001',
    setl_id: 'S20190402001',
    mdtrt_id: 'M20190325001',
    psn_no: '33000019491231002',
    certno: zhangSan.idNumber,
    psn_name: zhangSan.name,
    insutype: '390',
    insu_admdvs: '330300',
    med_type: '21',
    setl_time: '2019-04-02 10:15:00',
    medfee_sumamt: '100000.00',
    fulamt_ownpay_amt: '5000.00',
    overlmt_selfpay: '1000.00',
    preselfpay_amt: '4000.00',
    inscp_scp_amt: '90000.00',
    hifp_pay: '54000.00',
    hifmi_pay: '0',
    maf_pay: '0',
    psn_part_amt: '46000.00',
    is_reversal: false,
  },
  tax: {
    recordId: 'SW-1',
    version: 1,
    idNumber: zhangSan.idNumber,
    name: zhangSan.name,
    admdvs: '330300',
    insuranceYear: 2019,
    insutype: '390',
    kind: 'PAYMENT',
    contributionDue: '250.00',
    paid: '250.00',
    subsidised: '0',
    paidAt: '2018-12-10 09:00:00',
  },
} as const satisfies Record<string, RawRecord>;

/** The dead-letter topic of the in-memory fakes. */
export const memoryDeadLetterTopic = 'test.dead-letters';

/**
 * A dead-letter writer for fakes: `prepare` hands out placeholder records, and `lettersOf` turns a
 * published batch of them back into the letters, so a test sees letters only once they were published
 * (in the intake's transaction, with the facts).
 */
export function memoryDeadLetters(): { writer: DeadLetterWriter; lettersOf(batch: OutboundBatch): DeadLetterInput[] } {
  const pending = new Map<string, DeadLetterInput>();
  let sequence = 0;
  return {
    writer: {
      write: () => Promise.reject(new Error('the intake publishes dead letters through its transaction')),
      prepare(letters) {
        const records = letters.map((letter) => {
          sequence += 1;
          const key = `letter-${sequence}`;
          pending.set(key, letter);
          return { key, value: Buffer.alloc(0) };
        });
        return Promise.resolve({ topic: memoryDeadLetterTopic, records });
      },
    },
    lettersOf(batch) {
      if (batch.topic !== memoryDeadLetterTopic) return [];
      return batch.records.flatMap((record) => {
        const letter = pending.get(record.key);
        pending.delete(record.key);
        return letter === undefined ? [] : [letter];
      });
    },
  };
}

/** What the fakes saw: records published per topic, dead letters, remembered facts. */
export interface IntakeWorld {
  readonly intake: Intake;
  readonly published: { topic: string; record: OutboundRecord }[];
  readonly deadLetters: DeadLetterInput[];
  readonly seen: Map<string, string>;
  /** Makes the next publish (the batch's one transaction) fail with this error. */
  failNextSend(error: Error): void;
}

/** A codec that writes JSON instead of Avro: enough to see exactly what would go on the topic. */
export function jsonCodec<T>(topic: string): TopicCodec<T> {
  return {
    topic,
    encode: (record) => Promise.resolve(Buffer.from(JSON.stringify(record), 'utf8')),
    decode: (payload) => Promise.resolve(JSON.parse(payload.toString('utf8')) as T),
  };
}

/** The real pipeline over in-memory fakes of Kafka, the registry, Redis and the dead-letter writer. */
export function inMemoryIntake<K extends InboundTopicId>(
  agency: AgencyDefinition<K>,
  now: () => number = () => fixedNow,
  sources?: SourceVersions,
): IntakeWorld {
  const published: { topic: string; record: OutboundRecord }[] = [];
  const deadLetters: DeadLetterInput[] = [];
  const seenMap = new Map<string, string>();
  let failure: Error | undefined;
  const letters = memoryDeadLetters();
  const publisher: TransactionalPublisher = {
    publish(batches) {
      if (failure !== undefined) {
        const error = failure;
        failure = undefined;
        return Promise.reject(error);
      }
      for (const batch of batches) {
        if (batch.topic === memoryDeadLetterTopic) deadLetters.push(...letters.lettersOf(batch));
        else for (const record of batch.records) published.push({ topic: batch.topic, record });
      }
      return Promise.resolve();
    },
    close: () => Promise.resolve(),
  };
  const seen: SeenFacts = {
    lookup: (eventIds) => Promise.resolve(eventIds.map((id) => seenMap.get(id))),
    remember(entries) {
      for (const entry of entries) if (!seenMap.has(entry.eventId)) seenMap.set(entry.eventId, entry.contentHash);
      return Promise.resolve();
    },
  };
  const intake = createIntake({
    agency,
    secrets,
    publisher,
    codec: jsonCodec<TopicRecords[K]>(`test.${agency.id}`),
    deadLetters: letters.writer,
    seen: seen,
    now,
    ...(sources === undefined ? {} : { sources }),
  });
  return {
    intake,
    published,
    deadLetters,
    seen: seenMap,
    failNextSend: (error) => {
      failure = error;
    },
  };
}

/** The record a fake publish carried, decoded from the JSON codec. */
export function decodePublished(entry: { record: OutboundRecord }): Record<string, unknown> {
  return JSON.parse(entry.record.value.toString('utf8')) as Record<string, unknown>;
}
