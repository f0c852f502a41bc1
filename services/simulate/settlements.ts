import { daysInMonth, isoDate, shanghaiDate, shanghaiInstant } from './calendar';
import type { Person } from './people';
import { Random } from './random';
import type { Region } from './regions';
import { knownCategories, type Status } from './statuses';

/** A designated medical institution (定点医疗机构). The level sets prices, deductibles and ratios. */
export interface Institution {
  readonly code: string;
  readonly name: string;
  readonly level: 'tertiary' | 'county' | 'township';
}

/**
 * A settlement as the national interface reports it (setlinfo). Amounts in fen, internally
 * consistent: medfee = fulamt + overlmt + preselfpay + inscp; hifp ≤ inscp; the funds together never
 * pay more than the in-scope amount; the person bears the rest.
 */
export interface Settlement {
  readonly institution: Institution;
  readonly setlId: string;
  readonly mdtrtId: string;
  readonly person: Person;
  /** 医疗类别: 11 普通门诊, 14 门诊慢特病, 21 普通住院. */
  readonly medType: '11' | '14' | '21';
  readonly setlTime: number;
  readonly medfeeFen: number;
  readonly fulamtFen: number;
  readonly overlmtFen: number;
  readonly preselfpayFen: number;
  readonly inscpFen: number;
  readonly hifpFen: number;
  readonly hifmiFen: number;
  readonly mafFen: number;
  readonly psnPartFen: number;
  readonly isReversal: boolean;
  readonly origSetlId: string | null;
}

export function institutionsOf(region: Region): Institution[] {
  const city = region.name;
  const institutions: Institution[] = [];
  const add = (county: string, serial: number, name: string, level: Institution['level']): void => {
    institutions.push({ code: `H${county}${String(serial).padStart(5, '0')}`, name, level });
  };
  const [first, second] = region.counties;
  if (first !== undefined) {
    add(first.code, 1, `${city}第一人民医院`, 'tertiary');
    add(first.code, 2, `${city}中医院`, 'tertiary');
  }
  if (second !== undefined) add(second.code, 3, `${city}中心医院`, 'tertiary');
  region.counties.forEach((county, i) => {
    add(county.code, 10 + i, `${county.name}人民医院`, 'county');
    add(county.code, 40 + i, `${county.name}中心卫生院`, 'township');
  });
  return institutions;
}

/** Inpatient deductible (起付线) in yuan and pooled-fund ratio, by insurance type and level. */
const inpatientTerms = {
  '390': { tertiary: [1000, 0.6], county: [600, 0.75], township: [300, 0.85] },
  '310': { tertiary: [1200, 0.85], county: [800, 0.9], township: [400, 0.92] },
} as const;

/** The share of the remaining in-scope cost medical assistance (医疗救助) pays, by category. */
const assistanceShare: Readonly<Record<string, number>> = {
  TEKUN: 0.7,
  ORPHAN: 0.7,
  DIBAO: 0.6,
  DIBAO_EDGE: 0.5,
  ILLNESS_POVERTY: 0.5,
  RELAPSED_POVERTY: 0.5,
  MONITORED: 0.5,
  POOR_REGISTERED: 0.5,
  LIFTED: 0.3,
};

interface Traits {
  outpatientPerYear: number;
  chronic: boolean;
  inpatientPerYear: number;
}

function traitsOf(person: Person, statuses: readonly Status[] | undefined, seed: string): Traits {
  const random = new Random(seed, 'traits', person.index);
  const age = person.age;
  const baseVisits = age < 7 ? 4 : age < 18 ? 1.5 : age < 45 ? 1.8 : age < 60 ? 3 : 5;
  const illness = statuses?.some((s) => s.category === 'ILLNESS_POVERTY') === true;
  const poor = statuses !== undefined;
  const chronic = random.chance(illness ? 0.6 : age >= 45 ? 0.18 : 0.03);
  const baseStays = age < 7 ? 0.06 : age < 45 ? 0.05 : age < 60 ? 0.09 : age < 75 ? 0.18 : 0.28;
  return {
    outpatientPerYear: baseVisits * random.logNormal(1, 0.6),
    chronic,
    inpatientPerYear: baseStays * (poor ? 1.5 : 1) * (illness ? 2 : 1),
  };
}

const fen = (yuan: number): number => Math.round(yuan * 100);

interface Amounts {
  medfeeFen: number;
  fulamtFen: number;
  overlmtFen: number;
  preselfpayFen: number;
  inscpFen: number;
  hifpFen: number;
  hifmiFen: number;
  mafFen: number;
  psnPartFen: number;
}

/** Splits a total into the interface's parts and applies the three funds as the hospital settles them. */
function settleAmounts(
  random: Random,
  medfeeFen: number,
  medType: Settlement['medType'],
  institution: Institution,
  person: Person,
  categories: readonly string[],
  region: Region,
): Amounts {
  const inpatient = medType === '21';
  const fulamtFen = Math.round(medfeeFen * random.between(inpatient ? 0.03 : 0.01, inpatient ? 0.12 : 0.08));
  const overlmtFen = random.chance(0.2) ? Math.round(medfeeFen * random.between(0, 0.02)) : 0;
  const preselfpayFen = Math.round(medfeeFen * random.between(0.02, 0.1));
  const inscpFen = medfeeFen - fulamtFen - overlmtFen - preselfpayFen;
  let hifpFen: number;
  if (inpatient) {
    const [deductibleYuan, ratio] = inpatientTerms[person.insutype][institution.level];
    hifpFen = Math.round(Math.max(0, inscpFen - fen(deductibleYuan)) * ratio);
  } else {
    const ratio =
      medType === '14'
        ? person.insutype === '390'
          ? 0.6
          : 0.75
        : person.insutype === '390'
          ? institution.level === 'township'
            ? 0.6
            : 0.5
          : 0.7;
    hifpFen = Math.round(inscpFen * ratio);
  }
  // The hospital settles critical illness per settlement above the general deductible; the hub
  // recomputes it over the year, with the tilt the person's category earns.
  const eligibleFen = inscpFen - hifpFen;
  const hifmiFen =
    person.insutype === '390' && medType !== '11'
      ? Math.round(Math.max(0, eligibleFen - fen(region.criticalIllnessDeductibleYuan)) * 0.6)
      : 0;
  const share = Math.max(0, ...categories.map((category) => assistanceShare[category] ?? 0));
  const mafFen = medType === '11' ? 0 : Math.round((inscpFen - hifpFen - hifmiFen) * share);
  return {
    medfeeFen,
    fulamtFen,
    overlmtFen,
    preselfpayFen,
    inscpFen,
    hifpFen,
    hifmiFen,
    mafFen,
    psnPartFen: medfeeFen - hifpFen - hifmiFen - mafFen,
  };
}

/** A total in yuan for a visit of this kind: lognormal, most small, a thin tail past 300,000 yuan. */
function medfeeYuan(random: Random, medType: Settlement['medType'], institution: Institution): number {
  const clamp = (value: number, min: number, max: number): number => Math.min(max, Math.max(min, value));
  if (medType === '11') return clamp(random.logNormal(110, 0.85), 8, 6_000);
  if (medType === '14') return clamp(random.logNormal(420, 0.55), 30, 12_000);
  if (institution.level === 'township') return clamp(random.logNormal(2_500, 0.5), 600, 20_000);
  if (random.chance(0.025)) return clamp(random.logNormal(110_000, 0.45), 60_000, 650_000);
  return clamp(random.logNormal(8_500, 0.75), 1_200, 120_000);
}

/**
 * A year of settlements, month by month, each month in settlement-time order. Generated a month at
 * a time so that a million settlements never sit in memory together; each person-month has its own
 * random stream, so months are independent and the output is the same for a seed.
 */
export function* settlementMonths(
  people: readonly Person[],
  statuses: ReadonlyMap<number, readonly Status[]>,
  region: Region,
  year: number,
  seed: string,
): Generator<Settlement[]> {
  const institutions = institutionsOf(region);
  const byLevel = (level: Institution['level']): Institution[] => institutions.filter((i) => i.level === level);
  const levels = { tertiary: byLevel('tertiary'), county: byLevel('county'), township: byLevel('township') };
  const traits = people.map((person) => traitsOf(person, statuses.get(person.index), seed));

  for (let month = 1; month <= 12; month += 1) {
    const monthEnd = shanghaiInstant(isoDate(year, month, daysInMonth(year, month)), 23, 59, 59);
    const settlements: Settlement[] = [];
    let counter = 0;
    const ids = (): { setlId: string; mdtrtId: string } => {
      counter += 1;
      const serial = `${year}${String(month).padStart(2, '0')}${String(counter).padStart(8, '0')}`;
      return { setlId: `S${serial}`, mdtrtId: `M${serial}` };
    };
    for (const person of people) {
      const trait = traits[person.index];
      if (trait === undefined) continue;
      const random = new Random(seed, 'settle', person.index, month);
      const visits: Settlement['medType'][] = [];
      for (let n = random.poisson(trait.outpatientPerYear / 12); n > 0; n -= 1) visits.push('11');
      if (trait.chronic && random.chance(0.9)) visits.push('14');
      for (let n = Math.min(2, random.poisson(trait.inpatientPerYear / 12)); n > 0; n -= 1) visits.push('21');
      for (const medType of visits) {
        const level =
          medType === '21'
            ? random.weighted([
                ['tertiary', 40],
                ['county', 45],
                ['township', 15],
              ] as const)
            : medType === '14'
              ? random.weighted([
                  ['tertiary', 40],
                  ['county', 60],
                ] as const)
              : random.weighted([
                  ['tertiary', 15],
                  ['county', 35],
                  ['township', 50],
                ] as const);
        const institution = random.pick(levels[level]);
        const day = random.int(1, daysInMonth(year, month));
        const setlTime = shanghaiInstant(
          isoDate(year, month, day),
          medType === '21' ? random.int(9, 16) : random.int(8, 17),
          random.int(0, 59),
          random.int(0, 59),
        );
        const categories = knownCategories(statuses.get(person.index), setlTime, shanghaiDate(setlTime));
        const amounts = settleAmounts(
          random,
          fen(medfeeYuan(random, medType, institution)),
          medType,
          institution,
          person,
          categories,
          region,
        );
        const original: Settlement = { institution, ...ids(), person, medType, setlTime, ...amounts, isReversal: false, origSetlId: null };
        settlements.push(original);
        // Reversals (冲销): a settlement cancelled within days, its amounts repeated; half are settled again.
        const reversalTime = setlTime + random.int(3_600, 72 * 3_600) * 1000;
        if (random.chance(0.015) && reversalTime < monthEnd) {
          settlements.push({ ...original, setlId: ids().setlId, setlTime: reversalTime, isReversal: true, origSetlId: original.setlId });
          const againTime = reversalTime + random.int(3_600, 24 * 3_600) * 1000;
          if (random.chance(0.5) && againTime < monthEnd) {
            const again = settleAmounts(
              random,
              Math.round(original.medfeeFen * random.between(0.85, 1)),
              medType,
              institution,
              person,
              categories,
              region,
            );
            settlements.push({ ...original, setlId: ids().setlId, setlTime: againTime, ...again });
          }
        }
      }
    }
    settlements.sort((a, b) => a.setlTime - b.setlTime || (a.setlId < b.setlId ? -1 : 1));
    yield settlements;
  }
}
