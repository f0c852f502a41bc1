import { HubError, shanghaiDate } from '../platform';
import type { Policy } from '../policy';

/**
 * Warning periods (004 四(二) "按季"): `2022-Q2` for a quarterly cadence, `2022-05` for a monthly
 * one, in the hub's Asia/Shanghai calendar. A period closes at midnight after its last day; the
 * run waits a grace period after that for late settlements (a hospital sends a June stay in July).
 */
export type Cadence = Policy['warning']['cadence'];

export interface PeriodBounds {
  readonly period: string;
  /** First and last day, inclusive, as ISO dates. */
  readonly first: string;
  readonly last: string;
}

const pad = (n: number): string => String(n).padStart(2, '0');

function lastDayOfMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** The bounds of a period; throws USAGE when its form does not match the cadence. */
export function periodBounds(cadence: Cadence, period: string): PeriodBounds {
  if (cadence === 'QUARTERLY') {
    const match = /^(\d{4})-Q([1-4])$/.exec(period);
    if (match === null) throw new HubError('USAGE', `"${period}" is not a quarter such as 2022-Q2 (this region warns quarterly)`);
    const year = Number(match[1]);
    const quarter = Number(match[2]);
    return {
      period,
      first: `${year}-${pad(quarter * 3 - 2)}-01`,
      last: `${year}-${pad(quarter * 3)}-${pad(lastDayOfMonth(year, quarter * 3))}`,
    };
  }
  const match = /^(\d{4})-(0[1-9]|1[0-2])$/.exec(period);
  if (match === null) throw new HubError('USAGE', `"${period}" is not a month such as 2022-05 (this region warns monthly)`);
  const year = Number(match[1]);
  const month = Number(match[2]);
  return { period, first: `${year}-${pad(month)}-01`, last: `${year}-${pad(month)}-${pad(lastDayOfMonth(year, month))}` };
}

/** The period containing an ISO date. */
export function periodOf(cadence: Cadence, date: string): string {
  const year = date.slice(0, 4);
  const month = Number(date.slice(5, 7));
  return cadence === 'QUARTERLY' ? `${year}-Q${Math.ceil(month / 3)}` : `${year}-${pad(month)}`;
}

/** The ISO date `days` after `date` (negative: before). */
export function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
}

/** The instant a period's run is due: midnight (Asia/Shanghai) after its last day, plus the grace. */
export function dueAt(bounds: PeriodBounds, graceDays: number): number {
  return Date.parse(`${addDays(bounds.last, 1 + graceDays)}T00:00:00+08:00`);
}

/**
 * The periods of a policy's benefit year whose run is due at `now`, oldest first: a scheduler that
 * was down for a quarter catches up on the next firing instead of skipping a period.
 */
export function duePeriods(policy: Policy, now: number, graceDays: number): PeriodBounds[] {
  const cadence = policy.warning.cadence;
  const due: PeriodBounds[] = [];
  let date = policy.benefitYear.start;
  while (date <= policy.benefitYear.end) {
    const bounds = periodBounds(cadence, periodOf(cadence, date));
    if (dueAt(bounds, graceDays) > now) break;
    due.push(bounds);
    date = addDays(bounds.last, 1);
  }
  return due;
}

/** The period (of a policy's cadence) containing an instant, for the immediate alert and the CLI's default. */
export function periodAt(policy: Policy, instant: number): string {
  return periodOf(policy.warning.cadence, shanghaiDate(instant));
}

/**
 * The cron pattern (minute hour day month weekday, read in Asia/Shanghai) that fires a region's
 * run at 02:00 on the first day after the period closed plus the grace: quarterly on day 1 + grace
 * of January, April, July and October; monthly on that day of every month. The grace is limited
 * to 27 days so that the day exists in every month.
 */
export function schedulePattern(cadence: Cadence, graceDays: number): string {
  if (!Number.isInteger(graceDays) || graceDays < 0 || graceDays > 27)
    throw new HubError('CONFIG_INVALID', `grace of ${graceDays} days is outside 0..27`);
  const day = 1 + graceDays;
  return cadence === 'QUARTERLY' ? `0 2 ${day} 1,4,7,10 *` : `0 2 ${day} * *`;
}
