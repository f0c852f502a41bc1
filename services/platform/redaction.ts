/**
 * Field names that may carry a national ID number or a person's name, at any depth pino redacts.
 * The hub logs person keys; these paths are a second fence for the places a raw record is logged.
 */
const sensitiveFields = [
  'idNumber',
  'nationalId',
  'certno',
  'psn_cert_no',
  'mdtrt_cert_no',
  'idCard',
  'name',
  'psnName',
  'psn_name',
  'fullName',
  '身份证号',
  '姓名',
  '证件号码',
];
export const redactPaths = sensitiveFields.flatMap((field) => [field, `*.${field}`, `*.*.${field}`, `*[*].${field}`]);

/** 18-digit GB 11643 numbers (last may be X) and legacy 15-digit ones, standing alone in text. */
const idNumberPattern = /(?<![0-9])(\d{17}[\dXx]|\d{15})(?![0-9Xx])/g;

/** Masks anything shaped like a national ID number inside free text (error messages, raw rows). */
export function scrubIdNumbers(text: string): string {
  return text.replace(idNumberPattern, (match) => `${match.slice(0, 3)}${'*'.repeat(match.length - 3)}`);
}
