import type { MedicalType, Settlement } from '../../../services/policy';

/** Yuan to fen, for readable worked cases (amounts in the seeds are in yuan). */
export const yuan = (amount: number): number => Math.round(amount * 100);

interface SettlementAmounts {
  /** 符合政策范围金额 (inscp_scp_amt) */
  readonly policyScopeFen: number;
  /** 基本医保统筹支付 (hifp_pay) */
  readonly basicPaidFen: number;
  readonly fullOwnPayFen?: number;
  readonly overLimitFen?: number;
  readonly preSelfPayFen?: number;
  readonly medicalType?: MedicalType;
  readonly reversesId?: string;
}

/** A settlement whose total is the sum of its parts, as the national interface requires. */
export function settlement(id: string, settledAt: string, amounts: SettlementAmounts): Settlement {
  const fullOwnPayFen = amounts.fullOwnPayFen ?? 0;
  const overLimitFen = amounts.overLimitFen ?? 0;
  const preSelfPayFen = amounts.preSelfPayFen ?? 0;
  const base: Settlement = {
    id,
    settledAt,
    medicalType: amounts.medicalType ?? 'INPATIENT',
    totalFen: fullOwnPayFen + overLimitFen + preSelfPayFen + amounts.policyScopeFen,
    fullOwnPayFen,
    overLimitFen,
    preSelfPayFen,
    policyScopeFen: amounts.policyScopeFen,
    basicPaidFen: amounts.basicPaidFen,
  };
  return amounts.reversesId === undefined ? base : { ...base, reversesId: amounts.reversesId };
}

/** A settlement with the given eligible amount (policy scope − basic), basic paying as much again. */
export function eligible(id: string, settledAt: string, eligibleFen: number, medicalType: MedicalType = 'INPATIENT'): Settlement {
  return settlement(id, settledAt, { policyScopeFen: eligibleFen * 2, basicPaidFen: eligibleFen, medicalType });
}

/** The reversal (冲销) of a settlement: it repeats the original's amounts. */
export function reversal(id: string, settledAt: string, original: Settlement): Settlement {
  return { ...original, id, settledAt, reversesId: original.id };
}
