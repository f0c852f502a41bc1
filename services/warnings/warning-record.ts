import { createHash } from 'node:crypto';
import type { QuarterlyWarning, WarningSettlement } from '../../schemas';
import type { WarningVerdict, YearResult } from '../policy';

/**
 * What the hub last told the agencies about one person-period, kept per run in Redis (no ID
 * number, no name: the person key and amounts). A rerun compares a fresh verdict with it.
 */
export interface SentWarning {
  readonly eventId: string;
  readonly warned: boolean;
  readonly values: WarningValues;
}

/** The parts of a warning whose change is a change of verdict, in a fixed order. */
export interface WarningValues {
  readonly reasons: readonly string[];
  readonly categories: readonly string[];
  readonly routedTo: readonly string[];
  readonly selfPayFen: number;
  readonly medfeeFen: number;
  readonly basicFen: number;
  readonly criticalIllnessFen: number;
  readonly assistanceFen: number;
  readonly settlements: readonly string[];
}

export function stableId(prefix: string, parts: readonly (string | number | null)[]): string {
  return `${prefix}-${createHash('sha256').update(parts.map(String).join('\u0000')).digest('hex').slice(0, 32)}`;
}

/** The settlements behind a verdict: those counted in its window, not reversed. */
export function warningSettlements(
  verdict: WarningVerdict,
  year: YearResult,
  keyOf: (id: string) => { fixmedinsCode: string; setlId: string },
): WarningSettlement[] {
  // A loop with the fields named: filter, map and an object spread cost a third of a run's judging.
  const total = verdict.basis === 'TOTAL';
  const settlements: WarningSettlement[] = [];
  for (const s of year.settlements) {
    if (s.cancelled || s.settledAt > verdict.windowTo) continue;
    const { fixmedinsCode, setlId } = keyOf(s.id);
    settlements.push({
      fixmedinsCode,
      setlId,
      settledAt: s.settledAt,
      medfeeFen: s.totalFen,
      basicFen: s.basicPaidFen,
      criticalIllnessFen: s.criticalIllnessFen,
      assistanceFen: s.assistanceFen,
      selfPayFen: total ? s.selfPayFen : s.inScopeSelfPayFen,
    });
  }
  return settlements;
}

export function valuesOf(verdict: WarningVerdict, settlements: readonly WarningSettlement[]): WarningValues {
  return {
    reasons: [...verdict.reasons],
    categories: [...verdict.categories],
    routedTo: [...verdict.routedTo],
    selfPayFen: verdict.selfPayFen,
    medfeeFen: verdict.medfeeFen,
    basicFen: verdict.basicFen,
    criticalIllnessFen: verdict.criticalIllnessFen,
    assistanceFen: verdict.assistanceFen,
    settlements: settlements.map((s) => `${s.fixmedinsCode}/${s.setlId}`),
  };
}

const yuan = (fen: number): string => `${(fen / 100).toFixed(2)} yuan`;
const list = (values: readonly string[]): string => (values.length === 0 ? 'none' : values.join(', '));

/** What changed between two warnings of one person-period, one line per field, for a correction. */
export function describeChanges(before: SentWarning, after: WarningValues, warned: boolean): string[] {
  const changes: string[] = [];
  if (before.warned !== warned) changes.push(warned ? 'now warned (was not)' : 'no longer warned: no reason remains');
  const a = before.values;
  const text = (field: string, from: string, to: string) => {
    if (from !== to) changes.push(`${field}: ${from} -> ${to}`);
  };
  text('reasons', list(a.reasons), list(after.reasons));
  text('categories', list(a.categories), list(after.categories));
  text('routedTo', list(a.routedTo), list(after.routedTo));
  for (const field of ['selfPayFen', 'medfeeFen', 'basicFen', 'criticalIllnessFen', 'assistanceFen'] as const) {
    text(field, yuan(a[field]), yuan(after[field]));
  }
  const added = after.settlements.filter((s) => !a.settlements.includes(s));
  const removed = a.settlements.filter((s) => !after.settlements.includes(s));
  if (added.length > 0) changes.push(`settlements added: ${added.join(', ')}`);
  if (removed.length > 0) changes.push(`settlements no longer counted: ${removed.join(', ')}`);
  return changes;
}

export function sameValues(a: WarningValues, b: WarningValues): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The record published on warnings.quarterly. */
export function warningRecord(options: {
  eventId: string;
  personKey: string;
  idCipher: string;
  verdict: WarningVerdict;
  settlements: WarningSettlement[];
  warned: boolean;
  supersedes: string | null;
  changes: string[];
  now: number;
}): QuarterlyWarning {
  const { verdict } = options;
  return {
    eventId: options.eventId,
    source: 'hub:warnings',
    occurredAt: Date.parse(`${verdict.windowTo}T23:59:59.999+08:00`),
    recordedAt: options.now,
    personKey: options.personKey,
    idCipher: options.idCipher,
    policyId: verdict.policyId,
    period: verdict.period,
    windowFrom: verdict.windowFrom,
    windowTo: verdict.windowTo,
    categories: [...verdict.categories],
    reasons: [...verdict.reasons],
    basis: verdict.basis,
    selfPayFen: verdict.selfPayFen,
    thresholdFen: verdict.thresholdFen,
    medfeeFen: verdict.medfeeFen,
    basicFen: verdict.basicFen,
    criticalIllnessFen: verdict.criticalIllnessFen,
    assistanceFen: verdict.assistanceFen,
    routedTo: [...verdict.routedTo],
    settlements: options.settlements,
    warned: options.warned,
    supersedes: options.supersedes,
    changes: options.changes,
  };
}
