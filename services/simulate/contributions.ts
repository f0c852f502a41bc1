import { addDays, isoDate, shanghaiDate, shanghaiInstant } from './calendar';
import type { Person } from './people';
import { Random } from './random';
import { knownCategories, type Status } from './statuses';

/**
 * The national minimum individual contribution of residents' insurance (城乡居民医保个人缴费标准),
 * yuan per person and year, as the yearly notices of the National Healthcare Security Administration
 * set it. Years outside the table take the nearest year's figure.
 */
const residentContributionYuan: Readonly<Record<number, number>> = {
  2016: 150,
  2017: 180,
  2018: 220,
  2019: 250,
  2020: 280,
  2021: 320,
  2022: 350,
  2023: 380,
  2024: 400,
  2025: 400,
};

export function residentContributionFen(year: number): number {
  const years = Object.keys(residentContributionYuan).map(Number);
  const nearest = years.reduce((best, y) => (Math.abs(y - year) < Math.abs(best - year) ? y : best), years[0] ?? year);
  return (residentContributionYuan[nearest] ?? 0) * 100;
}

/**
 * Participation subsidy (资助参保) a poor resident typically receives, as a share of the contribution.
 * The policies differ by region; these shares make plausible data, and the rules service, which
 * applies the region's policy, finds where they fall short.
 */
const subsidyShare: Readonly<Record<string, number>> = {
  TEKUN: 1,
  ORPHAN: 1,
  DIBAO: 0.8,
  DIBAO_EDGE: 0.5,
  MONITORED: 0.5,
  RELAPSED_POVERTY: 0.5,
  POOR_REGISTERED: 0.5,
  LIFTED: 0.5,
};

export interface Contribution {
  readonly person: Person;
  readonly recordId: string;
  readonly kind: 'PAYMENT' | 'REFUND';
  readonly dueFen: number;
  readonly paidFen: number;
  readonly subsidisedFen: number;
  readonly paidAt: number;
  /** True where the subsidy was deliberately left out (the corrections the rules service should find). */
  readonly subsidyWithheld: boolean;
}

/** Residents' contributions for the year, collected in the autumn before it (a few late payers in January). */
export function contributions(
  people: readonly Person[],
  statuses: ReadonlyMap<number, readonly Status[]>,
  year: number,
  seed: string,
): Contribution[] {
  const dueFen = residentContributionFen(year);
  const records: Contribution[] = [];
  let sequence = 0;
  const nextId = (person: Person): string => {
    sequence += 1;
    // 电子税票号码: 20 digits, so it is never mistaken for (and masked as) an 18-digit ID number.
    return `3${person.county.slice(0, 4)}${year - 1}${String(sequence).padStart(11, '0')}`;
  };
  for (const person of people) {
    if (person.insutype !== '390') continue;
    const random = new Random(seed, 'contribution', person.index);
    const date = random.chance(0.92)
      ? addDays(isoDate(year - 1, 9, 1), random.int(0, 121))
      : addDays(isoDate(year, 1, 1), random.int(0, 58));
    const paidAt = shanghaiInstant(date, random.int(8, 21), random.int(0, 59), random.int(0, 59));
    const categories = knownCategories(statuses.get(person.index), paidAt, shanghaiDate(paidAt));
    const share = Math.max(0, ...categories.map((category) => subsidyShare[category] ?? 0));
    const withheld = share > 0 && random.chance(0.1);
    const subsidisedFen = withheld ? 0 : Math.round(dueFen * share);
    const payment: Contribution = {
      person,
      recordId: nextId(person),
      kind: 'PAYMENT',
      dueFen,
      paidFen: dueFen - subsidisedFen,
      subsidisedFen,
      paidAt,
      subsidyWithheld: withheld,
    };
    records.push(payment);
    // A few refunds: people who moved to employees' insurance or left the region during the year.
    if (random.chance(0.005)) {
      const refundAt = shanghaiInstant(addDays(isoDate(year, 3, 1), random.int(0, 240)), random.int(9, 16), random.int(0, 59), 0);
      records.push({ ...payment, recordId: nextId(person), kind: 'REFUND', paidAt: refundAt, subsidyWithheld: false });
    }
  }
  return records.sort((a, b) => a.paidAt - b.paidAt || (a.recordId < b.recordId ? -1 : 1));
}
