/**
 * What a key may write for, when bound: settlements of these institutions (fixmedins_code) and
 * records of divisions starting with these prefixes (admdvs, insu_admdvs). Absent: the whole agency.
 */
export interface KeyScope {
  readonly institutions?: readonly string[];
  readonly divisions?: readonly string[];
}

/**
 * Why a record is outside a key's scope, if it is: a settlement of another institution, or a record
 * of a division outside the key's prefixes. Checked on the validated fact, so a reversal (which names
 * its institution) is bound the same way as a settlement.
 */
export function outOfScope(scope: KeyScope | undefined, fact: object): { field: string; reason: string } | undefined {
  if (scope === undefined) return undefined;
  const values = fact as Record<string, unknown>;
  const institution = values.fixmedins_code;
  if (scope.institutions !== undefined && typeof institution === 'string' && !scope.institutions.includes(institution)) {
    return { field: 'fixmedins_code', reason: `this API key writes for ${scope.institutions.join(', ')} only, not ${institution}` };
  }
  for (const field of ['admdvs', 'insu_admdvs']) {
    const division = values[field];
    if (scope.divisions !== undefined && typeof division === 'string' && !scope.divisions.some((prefix) => division.startsWith(prefix))) {
      return { field, reason: `this API key writes for divisions ${scope.divisions.join(', ')} only, not ${division}` };
    }
  }
  return undefined;
}
