import type { Envelope, InboundTopicId, PersonRef, TopicRecords } from '../../schemas';
import type { FieldReader } from './fields';

import type { AgencyId } from '../../schemas';

export { agencyIds, type AgencyId, type InboundTopicId } from '../../schemas';

/** A record as the agency describes it, before the hub adds its envelope and pseudonymises it. */
export type AgencyFact<K extends InboundTopicId> = Omit<TopicRecords[K], keyof Envelope | keyof PersonRef>;

/**
 * What makes a connector: which topic it writes, how it reads one raw record (canonical field names;
 * file headers are mapped to these by the agency's mapping file), and what identifies a fact so that
 * the same record sent twice is one fact.
 */
export interface AgencyDefinition<K extends InboundTopicId = InboundTopicId> {
  readonly id: AgencyId;
  /** The agency's name as staff know it. */
  readonly label: string;
  readonly topic: K;
  /** The raw field holding the national ID number. */
  readonly idField: string;
  /** Raw fields with a person's name: accepted from agencies, never passed on. */
  readonly nameFields: readonly string[];
  /** Reads and validates one raw record; problems go to the reader. `today` bounds dates from above. */
  read(reader: FieldReader, today: string): { fact: AgencyFact<K>; occurredAt: number };
  /** Identity of the fact: same key and same content is a duplicate; same key, other content, a conflict. */
  factKey(fact: AgencyFact<K>): string;
  /**
   * For agencies whose records have versions (sourceRecordId, sourceVersion) that may correct the
   * ID number: the record that withdraws a source record from a person an older version named,
   * made from the newest version (its action or kind WITHDRAWN). See source-versions.ts.
   */
  withdrawal?(record: TopicRecords[K]): TopicRecords[K];
  /**
   * The URL of the module that exports this definition (its `import.meta.url`), so a file import's
   * prepare worker can load the agency itself; without it the rows are prepared on the main thread.
   */
  readonly module?: string;
}

export function defineAgency<K extends InboundTopicId>(definition: AgencyDefinition<K>): AgencyDefinition<K> {
  return definition;
}
