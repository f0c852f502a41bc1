import type {
  CivilAffairsStatusChange,
  HospitalSettlement,
  InboundTopicId,
  RuralRevitalizationStatusChange,
  TaxContribution,
} from '../../../schemas';
import { contributionFact, settlementFact, statusFact, type FactField, type StoredFact } from './person-facts';

/** An inbound record, decoded, with the topic it came from. */
export type DecodedFact =
  | { readonly topic: 'civilAffairsStatus'; readonly record: CivilAffairsStatusChange }
  | { readonly topic: 'ruralRevitalizationStatus'; readonly record: RuralRevitalizationStatusChange }
  | { readonly topic: 'hospitalSettlements'; readonly record: HospitalSettlement }
  | { readonly topic: 'taxContributions'; readonly record: TaxContribution };

export type { InboundTopicId };

/** Where an inbound record sits on its topic, and its raw value (kept by the dead letter it may become). */
export interface InboundPosition {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly timestamp: number;
  readonly value: Buffer | null;
}

const statusVerb = { CERTIFY: 'certified', REVOKE: 'revoked', RISK_ELIMINATED: 'risk eliminated' } as const;

/** The fact a record states, the field of the person it goes under, and the words that name it as a cause. */
export function toFact(decoded: DecodedFact): [FactField, StoredFact, string] {
  switch (decoded.topic) {
    case 'civilAffairsStatus':
    case 'ruralRevitalizationStatus': {
      const agency = decoded.topic === 'civilAffairsStatus' ? 'civil-affairs' : 'rural-revitalization';
      const r = decoded.record;
      const [field, fact] = statusFact(agency, r);
      if (fact.kind === 'withdrawal')
        return [field, fact, `record ${r.sourceRecordId} of ${agency} withdrawn: version ${r.sourceVersion} names another person`];
      const span = `${r.validFrom}–${r.validTo ?? 'open'}`;
      return [field, fact, `${r.category} ${statusVerb[fact.action]} ${span} by ${agency}`];
    }
    case 'hospitalSettlements': {
      const [field, fact] = settlementFact(decoded.record);
      const description = fact.reversesKey === null ? `settlement ${fact.key} of ${fact.settledAt}` : `reversal of ${fact.reversesKey}`;
      return [field, fact, description];
    }
    case 'taxContributions': {
      const r = decoded.record;
      const [field, fact] = contributionFact(r);
      if (fact.kind === 'withdrawal')
        return [field, fact, `contribution record ${r.sourceRecordId} withdrawn: version ${r.sourceVersion} names another person`];
      return [field, fact, `contribution record ${fact.key} for ${fact.insuranceYear}`];
    }
  }
}
