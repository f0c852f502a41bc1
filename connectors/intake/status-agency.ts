import { shanghaiDate } from '../../services/platform';
import type { FieldReader } from './fields';

/** Fields shared by the two agencies that certify statuses (民政 and 乡村振兴). */
export function readStatusFields<C extends string, A extends string>(
  reader: FieldReader,
  today: string,
  categories: readonly C[],
  actions: readonly A[],
) {
  const sourceRecordId = reader.string('recordId');
  const sourceVersion = reader.integer('version', 1, 1_000_000);
  const admdvs = reader.division('admdvs');
  const category = reader.oneOf('category', categories);
  const action = reader.oneOf('action', actions);
  const validFrom = reader.date('validFrom');
  const validTo = reader.optionalDate('validTo');
  const decidedAt = reader.timestamp('decidedAt');
  if (validTo !== null && validFrom !== '' && validTo <= validFrom) reader.problem('validTo', `must be after validFrom (${validFrom})`);
  // A decision takes effect at most a year ahead; 2150 was accepted.
  if (validFrom !== '' && validFrom > yearAfter(today)) reader.problem('validFrom', `is more than a year after today (${today})`);
  if (decidedAt > 0 && shanghaiDate(decidedAt) > today) reader.problem('decidedAt', 'is in the future');
  return { fact: { sourceRecordId, sourceVersion, admdvs, category, action, validFrom, validTo }, occurredAt: decidedAt };
}

/** The same day a year later (29 February becomes 1 March). */
function yearAfter(isoDate: string): string {
  const date = new Date(`${isoDate}T00:00:00Z`);
  date.setUTCFullYear(date.getUTCFullYear() + 1);
  return date.toISOString().slice(0, 10);
}
