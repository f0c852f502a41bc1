import type { StatusAgencyId } from '../../schemas';
import { addDays, daysInMonth, earlierDate, isoDate, laterDate, shanghaiInstant } from './calendar';
import type { Person } from './people';
import { Random } from './random';
import type { Region } from './regions';

export type StatusAgency = StatusAgencyId;

/**
 * A poverty status as the certifying agency holds it. `decidedAt` may fall after `validFrom`: a
 * back-dated certification, the case that makes the hub pay differences for settlements already made.
 */
export interface Status {
  readonly agency: StatusAgency;
  readonly category: string;
  readonly validFrom: string;
  readonly decidedAt: number;
  /** The ending, if the status ends within the year: revocation, or 风险消除 for MONITORED. */
  readonly ending?: { readonly action: 'REVOKE' | 'RISK_ELIMINATED'; readonly validTo: string; readonly decidedAt: number };
  /** A corrected second version of the certification (version 2: an earlier start, decided later). */
  readonly correction?: { readonly validFrom: string; readonly decidedAt: number };
}

/** One row of a status roster, before it is written in the agency's own words. */
export interface StatusRecord {
  readonly person: Person;
  readonly recordId: string;
  readonly version: number;
  readonly category: string;
  readonly action: 'CERTIFY' | 'REVOKE' | 'RISK_ELIMINATED';
  readonly validFrom: string;
  readonly validTo: string | null;
  readonly decidedAt: number;
}

const civilWeights: readonly (readonly [string, number])[] = [
  ['DIBAO', 45],
  ['TEKUN', 12],
  ['DIBAO_EDGE', 10],
  ['ILLNESS_POVERTY', 6],
  ['ORPHAN', 2],
];
/** Rural revitalization's categories changed with the end of the poverty campaign (2020 -> 2021). */
const ruralWeightsBefore2021: readonly (readonly [string, number])[] = [['POOR_REGISTERED', 25]];
const ruralWeightsFrom2021: readonly (readonly [string, number])[] = [
  ['LIFTED', 14],
  ['MONITORED', 9],
  ['RELAPSED_POVERTY', 2],
];
const ruralFirstDay = (year: number): string => (year >= 2021 ? '2021-01-01' : '2014-01-01');

const agencyOf = (category: string): StatusAgency =>
  civilWeights.some(([c]) => c === category) ? 'civil-affairs' : 'rural-revitalization';

/** Decisions are taken in office hours. */
function officeTime(random: Random, date: string): number {
  return shanghaiInstant(date, random.int(8, 17), random.int(0, 59), random.int(0, 59));
}

function planStatus(random: Random, category: string, year: number, birthDate: string): Status {
  const agency = agencyOf(category);
  const yearStart = isoDate(year, 1, 1);
  const yearEnd = isoDate(year, 12, 31);
  const latestDecision = (date: string): string => earlierDate(date, yearEnd);
  let validFrom: string;
  let decidedAt: number;
  if (random.chance(0.55)) {
    // Held since an earlier year (the roster carries everyone currently certified).
    const fromYear = year - random.int(1, 4);
    validFrom = isoDate(fromYear, random.int(1, 12), 1);
    if (agency === 'rural-revitalization') validFrom = laterDate(validFrom, ruralFirstDay(year));
    decidedAt = officeTime(random, addDays(validFrom, -random.int(3, 20)));
  } else {
    // Certified this year; a third are back-dated (decided weeks after the status began).
    const month = random.int(2, 11);
    validFrom = isoDate(year, month, random.chance(0.7) ? 1 : random.int(2, daysInMonth(year, month)));
    const backDated = random.chance(0.35);
    decidedAt = officeTime(
      random,
      backDated ? latestDecision(addDays(validFrom, random.int(15, 90))) : addDays(validFrom, -random.int(1, 15)),
    );
  }
  // Nobody holds a status before birth (the connectors refuse it: the birth date is in the ID
  // number). A child born after the planned start is certified from birth, decided two weeks
  // later, as a newborn's household is registered. No random draw here, so others stay as they were.
  if (validFrom < birthDate) {
    validFrom = birthDate;
    decidedAt = Math.max(decidedAt, shanghaiInstant(addDays(birthDate, 14), 10));
  }
  const endChance = category === 'MONITORED' ? 0.3 : category === 'TEKUN' || category === 'ORPHAN' ? 0.03 : 0.08;
  let ending: Status['ending'];
  const earliestEnd = laterDate(addDays(validFrom, 60), addDays(yearStart, 59));
  if (earliestEnd < addDays(yearEnd, -30) && random.chance(endChance)) {
    const span = (Date.parse(yearEnd) - Date.parse(earliestEnd)) / 86_400_000;
    const validTo = addDays(earliestEnd, random.int(0, Math.floor(span) - 1));
    const late = random.chance(0.25);
    ending = {
      action: category === 'MONITORED' ? 'RISK_ELIMINATED' : 'REVOKE',
      validTo,
      // Never decided before the certification it ends.
      decidedAt: Math.max(
        officeTime(random, late ? latestDecision(addDays(validTo, random.int(10, 60))) : addDays(validTo, -random.int(1, 20))),
        decidedAt + 86_400_000,
      ),
    };
  }
  let correction: Status['correction'];
  if (random.chance(0.03)) {
    const earliest = agency === 'rural-revitalization' ? laterDate(birthDate, ruralFirstDay(year)) : birthDate;
    const correctedFrom = laterDate(addDays(validFrom, -30), earliest);
    const correctedDecision = Math.min(decidedAt + random.int(10, 40) * 86_400_000, shanghaiInstant(yearEnd, 16));
    // A correction moves the start earlier; one that cannot (the status began at birth) is not made.
    if (correctedFrom < validFrom) correction = { validFrom: correctedFrom, decidedAt: correctedDecision };
  }
  return {
    agency,
    category,
    validFrom,
    decidedAt,
    ...(ending === undefined ? {} : { ending }),
    ...(correction === undefined ? {} : { correction }),
  };
}

/** Statuses per person index: a few percent of people hold one, some two (e.g. DIBAO and MONITORED). */
export function planStatuses(people: readonly Person[], region: Region, year: number, seed: string): Map<number, Status[]> {
  const rural = year >= 2021 ? ruralWeightsFrom2021 : ruralWeightsBefore2021;
  const all = [...civilWeights, ...rural];
  const byPerson = new Map<number, Status[]>();
  for (const person of people) {
    const random = new Random(seed, 'status', person.index);
    if (!random.chance(region.povertyShare)) continue;
    // Orphans are children; TEKUN mostly the old; the weights are otherwise the region's mix.
    let category = random.weighted(all);
    if (category === 'ORPHAN' && person.age >= 18) category = 'DIBAO';
    const statuses = [planStatus(random, category, year, person.birthDate)];
    if (random.chance(0.15)) {
      const other = random.weighted(agencyOf(category) === 'civil-affairs' ? rural : civilWeights.filter(([c]) => c !== 'ORPHAN'));
      statuses.push(planStatus(random, other, year, person.birthDate));
    }
    byPerson.set(person.index, statuses);
  }
  return byPerson;
}

/** The records each agency's roster holds, in decision order (how the exports are sorted). */
export function statusRecords(
  people: readonly Person[],
  statuses: ReadonlyMap<number, readonly Status[]>,
  agency: StatusAgency,
  year: number,
): StatusRecord[] {
  const records: StatusRecord[] = [];
  const prefix = agency === 'civil-affairs' ? 'MZ' : 'XC';
  let sequence = 0;
  const nextId = (person: Person): string => {
    sequence += 1;
    return `${prefix}${person.county}${year}${String(sequence).padStart(7, '0')}`;
  };
  for (const [index, held] of statuses) {
    const person = people[index];
    if (person === undefined) continue;
    for (const status of held) {
      if (status.agency !== agency) continue;
      const recordId = nextId(person);
      records.push({
        person,
        recordId,
        version: 1,
        category: status.category,
        action: 'CERTIFY',
        validFrom: status.validFrom,
        validTo: null,
        decidedAt: status.decidedAt,
      });
      if (status.correction !== undefined) {
        records.push({
          person,
          recordId,
          version: 2,
          category: status.category,
          action: 'CERTIFY',
          validFrom: status.correction.validFrom,
          validTo: null,
          decidedAt: status.correction.decidedAt,
        });
      }
      if (status.ending !== undefined) {
        const from = status.correction?.validFrom ?? status.validFrom;
        records.push({
          person,
          recordId: nextId(person),
          version: 1,
          category: status.category,
          action: status.ending.action,
          validFrom: from,
          validTo: status.ending.validTo,
          decidedAt: status.ending.decidedAt,
        });
      }
    }
  }
  return records.sort(
    (a, b) => a.decidedAt - b.decidedAt || (a.recordId < b.recordId ? -1 : a.recordId > b.recordId ? 1 : a.version - b.version),
  );
}

/** The category in force for a person at an instant, as far as it was decided by then (what a hospital knows). */
export function knownCategories(statuses: readonly Status[] | undefined, at: number, date: string): string[] {
  if (statuses === undefined) return [];
  return statuses
    .filter((status) => {
      if (status.decidedAt > at || status.validFrom > date) return false;
      const end = status.ending;
      return end === undefined || end.decidedAt > at || date < end.validTo;
    })
    .map((status) => status.category);
}
