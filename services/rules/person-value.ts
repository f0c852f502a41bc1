import avro from 'avsc';
import type { EmittedSlot } from './core/derive';
import { namedValues, storedValues, type SlotField } from './core/slot-values';
import type { FactField, StoredContribution, StoredFact, StoredSettlement, StoredStatus } from './core/person-facts';

/**
 * A person's state as one Redis value: Avro binary of the schema below, which mirrors the stored
 * fact types field for field. It is the hub's own state, not a record exchanged with anyone, so
 * the schema lives here and is not registered; changing it changes the state layout (stateLayout
 * in state-store.ts), which a rebuild carries over.
 *
 * Avro, not JSON: the service loads and writes every person a batch touches, whole, and JSON took
 * a fifth of its CPU. Avro's generated readers and writers take a fraction of that, and the value
 * is about half the size in Redis.
 */
export interface PersonState {
  readonly facts: Map<FactField, StoredFact>;
  readonly emitted: Map<SlotField, EmittedSlot>;
}

const nullableString = ['null', 'string'];
/** A one-symbol enum: says which fact type a record is, in no bytes of its own beyond one. */
const kind = (name: string, symbol: string) => ({ name: 'kind', type: { type: 'enum', name, symbols: [symbol] } });

/** A field holding a list of records of one type. */
const listOf = (name: string, recordName: string, fields: readonly object[]) => ({
  name,
  type: { type: 'array', items: { type: 'record', name: recordName, fields } },
});

const personSchema = {
  type: 'record',
  name: 'RulesPerson',
  namespace: 'hub.rules.state',
  fields: [
    listOf('statuses', 'Status', [
      // The field a status is kept under names its source record, which the fact itself does not carry.
      { name: 'field', type: 'string' },
      kind('StatusKind', 'status'),
      { name: 'eventId', type: 'string' },
      { name: 'version', type: 'long' },
      { name: 'category', type: 'string' },
      { name: 'action', type: 'string' },
      { name: 'from', type: 'string' },
      { name: 'to', type: nullableString },
    ]),
    listOf('settlements', 'Settlement', [
      kind('SettlementKind', 'settlement'),
      { name: 'eventId', type: 'string' },
      { name: 'key', type: 'string' },
      { name: 'reversesKey', type: nullableString },
      { name: 'fixmedinsCode', type: 'string' },
      { name: 'setlId', type: 'string' },
      { name: 'admdvs', type: 'string' },
      { name: 'insuredType', type: 'string' },
      { name: 'medType', type: 'string' },
      { name: 'settledAt', type: 'string' },
      ...[
        'setlTime',
        'totalFen',
        'fullOwnPayFen',
        'overLimitFen',
        'preSelfPayFen',
        'policyScopeFen',
        'basicPaidFen',
        'settledCriticalIllnessFen',
        'settledAssistanceFen',
      ].map((name) => ({ name, type: 'long' })),
      // Added last, with a default (issue 12 item 5). The stored value carries no writer schema, so
      // state of the previous layout cannot be read with this one: stateLayout went from 2 to 3.
      { name: 'diseaseCode', type: nullableString, default: null },
    ]),
    listOf('contributions', 'Contribution', [
      kind('ContributionKind', 'contribution'),
      { name: 'eventId', type: 'string' },
      { name: 'version', type: 'long' },
      { name: 'key', type: 'string' },
      { name: 'admdvs', type: 'string' },
      { name: 'insuranceYear', type: 'int' },
      { name: 'insuredType', type: 'string' },
      { name: 'refund', type: 'boolean' },
      { name: 'contributionDueFen', type: 'long' },
      { name: 'subsidisedFen', type: 'long' },
      { name: 'paidAt', type: 'string' },
    ]),
    listOf('emitted', 'Emitted', [
      { name: 'slot', type: 'string' },
      { name: 'eventId', type: 'string' },
      { name: 'values', type: { type: 'array', items: 'long' } },
    ]),
  ],
};

interface StoredPerson {
  statuses: (StoredStatus & { field: FactField })[];
  settlements: StoredSettlement[];
  contributions: StoredContribution[];
  emitted: { slot: SlotField; eventId: string; values: readonly number[] }[];
}

const personType = avro.Type.forSchema(personSchema as avro.Schema);

/**
 * A withdrawal (of a status or a contribution record, under its own field) is kept in the list of
 * statuses with this action and empty status fields: the layout stays as it was, and state written
 * before withdrawals existed reads the same.
 */
const withdrawn = 'WITHDRAWN';

function withdrawalEntry(field: FactField, eventId: string, version: number): StoredStatus & { field: FactField } {
  return {
    field,
    kind: 'status',
    eventId,
    version,
    category: '' as StoredStatus['category'],
    action: withdrawn as StoredStatus['action'],
    from: '',
    to: null,
  };
}
let scratch = Buffer.allocUnsafe(64 * 1024);

/** A person's state as stored. */
export function encodePerson(state: PersonState): Buffer {
  const stored: StoredPerson = { statuses: [], settlements: [], contributions: [], emitted: [] };
  for (const [field, fact] of state.facts) {
    if (fact.kind === 'status') stored.statuses.push({ ...fact, field });
    else if (fact.kind === 'withdrawal') stored.statuses.push(withdrawalEntry(field, fact.eventId, fact.version));
    else if (fact.kind === 'settlement') stored.settlements.push(fact);
    else stored.contributions.push(fact);
  }
  for (const [slot, value] of state.emitted) stored.emitted.push({ slot, eventId: value.eventId, values: storedValues(value.values) });
  // Written into a scratch buffer, then copied out: avsc's toBuffer writes into 1 KiB and writes a
  // larger value a second time, and a third of the people are larger.
  let end = personType.encode(stored, scratch, 0);
  while (end < 0) {
    scratch = Buffer.allocUnsafe(Math.max(2 * scratch.length, scratch.length - end));
    end = personType.encode(stored, scratch, 0);
  }
  const value = Buffer.allocUnsafe(end);
  scratch.copy(value, 0, 0, end);
  return value;
}

/** A stored person; null (no key) is a person with no facts yet. */
export function decodePerson(value: Buffer | null): PersonState {
  const facts = new Map<FactField, StoredFact>();
  const emitted = new Map<SlotField, EmittedSlot>();
  if (value === null) return { facts, emitted };
  const stored = personType.fromBuffer(value) as StoredPerson;
  for (const { field, ...status } of stored.statuses) {
    facts.set(
      field,
      (status.action as string) === withdrawn ? { kind: 'withdrawal', eventId: status.eventId, version: status.version } : status,
    );
  }
  for (const settlement of stored.settlements) facts.set(`h:${settlement.key}`, settlement);
  for (const contribution of stored.contributions) facts.set(`c:${contribution.key}`, contribution);
  for (const { slot, eventId, values } of stored.emitted) emitted.set(slot, { eventId, values: namedValues(slot, values) });
  return { facts, emitted };
}
