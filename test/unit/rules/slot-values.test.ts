import { describe, expect, it } from 'vitest';
import type { BenefitAdjustment } from '../../../schemas';
import { HubError } from '../../../services/platform';
import {
  adjustmentValues,
  namedValues,
  sameValues,
  selfPayValues,
  storedValues,
  subsidyValues,
  textDigest,
} from '../../../services/rules/core/slot-values';

describe("a slot's values", () => {
  it('are stored in the order state written before them holds: due, then settled, then the digest', () => {
    const values = adjustmentValues({
      dueCriticalIllnessFen: 975_000,
      dueAssistanceFen: 12_300,
      settledCriticalIllnessFen: 600_000,
      settledAssistanceFen: 4_500,
      categoryApplied: 'DIBAO',
      reason: 'DIBAO applies',
    });
    expect(storedValues(values)).toStrictEqual([975_000, 12_300, 600_000, 4_500, textDigest('DIBAO\u0000DIBAO applies')]);
    expect(namedValues('a:H1/S1', storedValues(values))).toStrictEqual(values);
  });

  it('of a self-pay slot are stored as the six totals, the count, the last settlement time and the categories digest', () => {
    const values = selfPayValues({
      medfeeFen: 1,
      basicFen: 2,
      criticalIllnessFen: 3,
      assistanceFen: 4,
      selfPayTotalFen: 5,
      selfPayInScopeFen: 6,
      settlementCount: 7,
      lastSettledAt: null,
      categories: ['DIBAO', 'TEKUN'],
    });
    expect(storedValues(values)).toStrictEqual([1, 2, 3, 4, 5, 6, 7, 0, textDigest('DIBAO,TEKUN')]);
    expect(namedValues('y:xianyang-2020', storedValues(values))).toStrictEqual(values);
  });

  it('of a subsidy slot are stored as entitled, received and the category digest; a problem slot stores none', () => {
    const values = subsidyValues({ entitledSubsidyFen: 28_000, receivedSubsidyFen: 10_000, category: 'TEKUN' });
    expect(storedValues(values)).toStrictEqual([28_000, 10_000, textDigest('TEKUN')]);
    expect(namedValues('u:SW-1', [28_000, 10_000, textDigest('TEKUN')])).toStrictEqual(values);
    expect(namedValues('x:abc', [])).toStrictEqual({ kind: 'problem' });
  });

  it('of another count than the slot kind keeps are refused as another state layout', () => {
    const read = () => namedValues('a:H1/S1', [1, 2, 3, 4]);
    expect(read).toThrow(HubError);
    expect(read).toThrow(expect.objectContaining({ code: 'STATE_LAYOUT_CHANGED' }));
  });

  it('read from a published adjustment equal those derived for it, and differ when only the reason changes', () => {
    const record = {
      dueCriticalIllnessFen: 975_000,
      dueAssistanceFen: 0,
      settledCriticalIllnessFen: 600_000,
      settledAssistanceFen: 0,
      categoryApplied: 'DIBAO',
      reason: 'DIBAO applies',
    } satisfies Partial<BenefitAdjustment>;
    expect(sameValues(adjustmentValues(record), adjustmentValues({ ...record }))).toBe(true);
    expect(sameValues(adjustmentValues(record), adjustmentValues({ ...record, reason: 'TEKUN applies' }))).toBe(false);
    expect(sameValues(undefined, adjustmentValues(record))).toBe(false);
  });
});
