import { shanghaiDate } from '../../services/platform/dates';
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
  const admdvs = reader.code('admdvs', /^\d{6}$/, 'a 6-digit division code');
  const category = reader.oneOf('category', categories);
  const action = reader.oneOf('action', actions);
  const validFrom = reader.date('validFrom');
  const validTo = reader.optionalDate('validTo');
  const decidedAt = reader.timestamp('decidedAt');
  if (validTo !== null && validFrom !== '' && validTo <= validFrom) reader.problem('validTo', `must be after validFrom (${validFrom})`);
  if (validFrom !== '' && validFrom > '2199-12-31') reader.problem('validFrom', 'is too far in the future');
  if (decidedAt > 0 && shanghaiDate(decidedAt) > today) reader.problem('decidedAt', 'is in the future');
  return { fact: { sourceRecordId, sourceVersion, admdvs, category, action, validFrom, validTo }, occurredAt: decidedAt };
}
