import { describe, expect, it } from 'vitest';
import {
  agencyScope,
  can,
  describeOutcome,
  encodeCursor,
  filterClause,
  formatFen,
  hashPassword,
  passwordProblem,
  verifyPassword,
} from '../../../services/desk';

describe('the desk without its database', () => {
  it("words an agency's answer as its follow-up status, money in yuan", () => {
    const none = { assistanceKind: null, assistanceFen: null, certifiedCategory: null, reason: null };
    expect(describeOutcome({ ...none, outcome: 'RECEIVED' })).toBe('已接收');
    expect(describeOutcome({ ...none, outcome: 'ASSISTANCE_GIVEN', assistanceKind: '临时救助', assistanceFen: 123_456_78 })).toBe(
      '已救助（临时救助 123,456.78 元）',
    );
    expect(describeOutcome({ ...none, outcome: 'CERTIFIED', certifiedCategory: 'ILLNESS_POVERTY' })).toBe('已认定（因病致贫重病患者）');
    expect(describeOutcome({ ...none, outcome: 'NO_ACTION', reason: '已由其他渠道救助' })).toBe('无需处理（已由其他渠道救助）');
  });

  it("lists only the latest word per person-period, and filters by an agency's answer or the older follow-up statuses", () => {
    const answer: unknown[] = [];
    expect(filterClause({ period: '2022-Q2', followUpStatus: 'CERTIFIED' }, answer)).toContain('superseded_by is null and warned');
    expect(filterClause({ period: '2022-Q2', followUpStatus: 'CERTIFIED' }, [])).toContain('d.outcome = $2');
    expect(filterClause({ period: '2022-Q2', followUpStatus: 'CLOSED' }, [])).toContain('follow_up_status = $2');
  });

  it('shows fen as yuan with two decimals and thousands separators, without float rounding', () => {
    expect(formatFen(0)).toBe('0.00');
    expect(formatFen(5)).toBe('0.05');
    expect(formatFen(123456789)).toBe('1,234,567.89');
    expect(formatFen(-100000)).toBe('-1,000.00');
    expect(formatFen(900719925474099n)).toBe('9,007,199,254,740.99');
  });

  it('hashes passwords with scrypt, salted, and checks them', async () => {
    const first = await hashPassword('Desk-pass-2022');
    const second = await hashPassword('Desk-pass-2022');
    expect(first).toMatch(/^scrypt\$32768\$8\$1\$/);
    expect(first).not.toBe(second);
    expect(await verifyPassword('Desk-pass-2022', first)).toBe(true);
    expect(await verifyPassword('Desk-pass-2023', first)).toBe(false);
    expect(await verifyPassword('Desk-pass-2022', 'plain')).toBe(false);
    expect(passwordProblem('short1')).toBe('密码至少 12 位');
    expect(passwordProblem('onlyletterslong')).toBe('密码须同时包含字母和数字');
    expect(passwordProblem('letters-and-1234')).toBeNull();
  });

  it('lets only bureau analysts and supervisors open clear IDs, and scopes agency viewers', () => {
    expect(['ANALYST', 'SUPERVISOR', 'CIVIL_AFFAIRS_VIEWER', 'RURAL_VIEWER', 'AUDITOR'].filter((r) => can(r as never, 'clearId'))).toEqual([
      'ANALYST',
      'SUPERVISOR',
    ]);
    expect(can('SUPERVISOR', 'markPaid')).toBe(true);
    expect(can('ANALYST', 'markPaid')).toBe(false);
    expect(can('AUDITOR', 'audit')).toBe(true);
    expect(agencyScope('CIVIL_AFFAIRS_VIEWER')).toBe('CIVIL_AFFAIRS');
    expect(agencyScope('RURAL_VIEWER')).toBe('RURAL_REVITALIZATION');
    expect(agencyScope('ANALYST')).toBeNull();
  });

  it('puts every filter value in a parameter, never in the SQL text', () => {
    const params: unknown[] = [];
    const where = filterClause(
      { period: "2022-Q2'; drop table warnings; --", category: 'DIBAO', agency: 'RURAL_REVITALIZATION', reason: 'SELF_PAY_OVER_THRESHOLD' },
      params,
    );
    expect(where).toBe(
      'period = $1 and superseded_by is null and warned and categories @> array[$2]::text[] and routed_rural ' +
        'and reasons @> array[$3]::text[]',
    );
    expect(params).toEqual(["2022-Q2'; drop table warnings; --", 'DIBAO', 'SELF_PAY_OVER_THRESHOLD']);
    expect(encodeCursor(123, 'w-1')).toBe(Buffer.from('[123,"w-1"]').toString('base64url'));
  });
});
