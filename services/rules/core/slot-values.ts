import { HubError } from '../../platform';
import { sha256Hex } from './sha256';

/** a: a settlement's adjustment; u: a contribution's subsidy; y: a year's self-pay; x: a problem reported. */
export type SlotField = `a:${string}` | `u:${string}` | `y:${string}` | `x:${string}`;

/**
 * A slot's descriptive fields (category, reason, categories) as one number kept with its values: a
 * slot is published again when they change, not only its amounts, or its last record goes on naming
 * a category that the person's later facts contradict, depending on the order the facts came in.
 */
export function textDigest(text: string): number {
  return Number.parseInt(sha256Hex(text).slice(0, 12), 16);
}

/** What a state keeps of an adjustment slot (a:). */
export interface AdjustmentValues {
  readonly kind: 'adjustment';
  readonly dueCriticalIllnessFen: number;
  readonly dueAssistanceFen: number;
  readonly settledCriticalIllnessFen: number;
  readonly settledAssistanceFen: number;
  /** textDigest of the category applied and the reason. */
  readonly descriptionDigest: number;
}

/** What a state keeps of a subsidy slot (u:). */
export interface SubsidyValues {
  readonly kind: 'subsidy';
  readonly entitledSubsidyFen: number;
  readonly receivedSubsidyFen: number;
  /** textDigest of the category ('NONE' when none). */
  readonly categoryDigest: number;
}

/** What a state keeps of a self-pay slot (y:). */
export interface SelfPayValues {
  readonly kind: 'selfPay';
  readonly medfeeFen: number;
  readonly basicFen: number;
  readonly criticalIllnessFen: number;
  readonly assistanceFen: number;
  readonly selfPayTotalFen: number;
  readonly selfPayInScopeFen: number;
  readonly settlementCount: number;
  /** Epoch milliseconds of the last live settlement; 0 when there is none. */
  readonly lastSettledAt: number;
  /** textDigest of the categories, sorted and joined by commas. */
  readonly categoriesDigest: number;
}

/** A problem reported (x:): its dead letter's event id is all a state keeps. */
export interface ProblemValues {
  readonly kind: 'problem';
}

/** The values a slot was last published with, by name. */
export type EmittedValues = AdjustmentValues | SubsidyValues | SelfPayValues | ProblemValues;

type Kind = EmittedValues['kind'];

const kindBySlotPrefix: Readonly<Record<string, Kind>> = { a: 'adjustment', u: 'subsidy', y: 'selfPay', x: 'problem' };

/** The kind of values a slot holds, from its field's prefix. */
export function slotKind(slot: SlotField): Kind {
  const kind = kindBySlotPrefix[slot.slice(0, 1)];
  if (kind === undefined) throw new HubError('STATE_LAYOUT_CHANGED', `slot '${slot}' is of no known kind: run 'hub rules --rebuild'`);
  return kind;
}

/*
 * The order a state stores each kind's values in (a list of longs per slot, person-value.ts) and
 * an event id hashes them in is written in the two functions below and nowhere else: changing it
 * changes every event id and the stored layout. Both are spelt out per kind, not driven by a table
 * of field names, because every person the fold loads and stores goes through them.
 */

/** The values as a state stores them and an event id hashes them. */
export function storedValues(values: EmittedValues): number[] {
  switch (values.kind) {
    case 'adjustment':
      return [
        values.dueCriticalIllnessFen,
        values.dueAssistanceFen,
        values.settledCriticalIllnessFen,
        values.settledAssistanceFen,
        values.descriptionDigest,
      ];
    case 'subsidy':
      return [values.entitledSubsidyFen, values.receivedSubsidyFen, values.categoryDigest];
    case 'selfPay':
      return [
        values.medfeeFen,
        values.basicFen,
        values.criticalIllnessFen,
        values.assistanceFen,
        values.selfPayTotalFen,
        values.selfPayInScopeFen,
        values.settlementCount,
        values.lastSettledAt,
        values.categoriesDigest,
      ];
    case 'problem':
      return [];
  }
}

const storedCount: Readonly<Record<Kind, number>> = { adjustment: 5, subsidy: 3, selfPay: 9, problem: 0 };

/** Stored values of a slot, by name. */
export function namedValues(slot: SlotField, stored: readonly number[]): EmittedValues {
  const kind = slotKind(slot);
  if (stored.length !== storedCount[kind]) {
    throw new HubError(
      'STATE_LAYOUT_CHANGED',
      `slot '${slot}' holds ${stored.length} values, not ${storedCount[kind]}: run 'hub rules --rebuild'`,
    );
  }
  const v = (i: number): number => stored[i] ?? 0;
  switch (kind) {
    case 'adjustment':
      return {
        kind,
        dueCriticalIllnessFen: v(0),
        dueAssistanceFen: v(1),
        settledCriticalIllnessFen: v(2),
        settledAssistanceFen: v(3),
        descriptionDigest: v(4),
      };
    case 'subsidy':
      return { kind, entitledSubsidyFen: v(0), receivedSubsidyFen: v(1), categoryDigest: v(2) };
    case 'selfPay':
      return {
        kind,
        medfeeFen: v(0),
        basicFen: v(1),
        criticalIllnessFen: v(2),
        assistanceFen: v(3),
        selfPayTotalFen: v(4),
        selfPayInScopeFen: v(5),
        settlementCount: v(6),
        lastSettledAt: v(7),
        categoriesDigest: v(8),
      };
    case 'problem':
      return problemValues;
  }
}

/** Whether two slots' values are the same (no value is the same as none). */
export function sameValues(a: EmittedValues | undefined, b: EmittedValues): boolean {
  if (a === undefined || a.kind !== b.kind) return false;
  const x = storedValues(a);
  const y = storedValues(b);
  return x.every((value, i) => value === y[i]);
}

/** An adjustment's values, from its amounts, category applied and reason (a published record has all of them). */
export function adjustmentValues(fields: {
  readonly dueCriticalIllnessFen: number;
  readonly dueAssistanceFen: number;
  readonly settledCriticalIllnessFen: number;
  readonly settledAssistanceFen: number;
  readonly categoryApplied: string | null;
  readonly reason: string;
}): AdjustmentValues {
  return {
    kind: 'adjustment',
    dueCriticalIllnessFen: fields.dueCriticalIllnessFen,
    dueAssistanceFen: fields.dueAssistanceFen,
    settledCriticalIllnessFen: fields.settledCriticalIllnessFen,
    settledAssistanceFen: fields.settledAssistanceFen,
    descriptionDigest: textDigest(`${fields.categoryApplied ?? ''}\u0000${fields.reason}`),
  };
}

/** A subsidy correction's values, from its amounts and category. */
export function subsidyValues(fields: {
  readonly entitledSubsidyFen: number;
  readonly receivedSubsidyFen: number;
  readonly category: string;
}): SubsidyValues {
  return {
    kind: 'subsidy',
    entitledSubsidyFen: fields.entitledSubsidyFen,
    receivedSubsidyFen: fields.receivedSubsidyFen,
    categoryDigest: textDigest(fields.category),
  };
}

/** A self-pay record's values, from its totals, live settlements, last settlement time and categories. */
export function selfPayValues(fields: {
  readonly medfeeFen: number;
  readonly basicFen: number;
  readonly criticalIllnessFen: number;
  readonly assistanceFen: number;
  readonly selfPayTotalFen: number;
  readonly selfPayInScopeFen: number;
  readonly settlementCount: number;
  readonly lastSettledAt: number | null;
  readonly categories: readonly string[];
}): SelfPayValues {
  return {
    kind: 'selfPay',
    medfeeFen: fields.medfeeFen,
    basicFen: fields.basicFen,
    criticalIllnessFen: fields.criticalIllnessFen,
    assistanceFen: fields.assistanceFen,
    selfPayTotalFen: fields.selfPayTotalFen,
    selfPayInScopeFen: fields.selfPayInScopeFen,
    settlementCount: fields.settlementCount,
    lastSettledAt: fields.lastSettledAt ?? 0,
    categoriesDigest: textDigest(fields.categories.join(',')),
  };
}

/** A reported problem's values: none. */
export const problemValues: ProblemValues = { kind: 'problem' };
