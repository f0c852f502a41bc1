export {
  validateNationalId,
  normalizeNationalId,
  checkCharacter,
  divisionProvinceCodes,
  type IdValidation,
  type IdRejection,
} from './national-id';
export { derivePersonKey, encryptNationalId, decryptNationalId } from './person-key';
export { containsNationalId, maskIdShaped } from './id-in-text';
export { pseudonymise, pseudonymiseNormalized, type IdentitySecrets, type PseudonymisedId } from './pseudonymise';
