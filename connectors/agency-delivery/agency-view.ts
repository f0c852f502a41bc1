import type { QuarterlyWarning, WarningSettlement } from '../../schemas';
import { decryptNationalId } from '../../services/identity';

/**
 * A warning as an agency receives it (webhook body and export rows): the clear ID number, opened
 * in memory at delivery for the agency the warning is routed to, and nothing sealed. Amounts are
 * integer fen (分), as everywhere in the hub.
 */
export interface AgencyWarning {
  readonly warningId: string;
  /** The warning this one corrects; null for a first warning. */
  readonly supersedes: string | null;
  /** False: the earlier warning is withdrawn (the person is no longer over the threshold nor in a reported category). */
  readonly warned: boolean;
  readonly changes: readonly string[];
  readonly policyId: string;
  readonly period: string;
  readonly windowFrom: string;
  readonly windowTo: string;
  readonly idNumber: string;
  readonly personKey: string;
  readonly categories: readonly string[];
  readonly reasons: readonly string[];
  readonly basis: string;
  readonly medfeeFen: number;
  readonly basicFen: number;
  readonly criticalIllnessFen: number;
  readonly assistanceFen: number;
  readonly selfPayFen: number;
  readonly thresholdFen: number;
  readonly settlements: readonly WarningSettlement[];
}

export function agencyView(warning: QuarterlyWarning, idEncryptionKey: Buffer): AgencyWarning {
  return {
    warningId: warning.eventId,
    supersedes: warning.supersedes,
    warned: warning.warned,
    changes: warning.changes,
    policyId: warning.policyId,
    period: warning.period,
    windowFrom: warning.windowFrom,
    windowTo: warning.windowTo,
    idNumber: decryptNationalId(warning.idCipher, idEncryptionKey, warning.personKey),
    personKey: warning.personKey,
    categories: warning.categories,
    reasons: warning.reasons,
    basis: warning.basis,
    medfeeFen: warning.medfeeFen,
    basicFen: warning.basicFen,
    criticalIllnessFen: warning.criticalIllnessFen,
    assistanceFen: warning.assistanceFen,
    selfPayFen: warning.selfPayFen,
    thresholdFen: warning.thresholdFen,
    settlements: warning.settlements,
  };
}
