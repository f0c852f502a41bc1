import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject } from 'ajv';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { HubError } from '../platform';
import { compilePolicy, type Policy, type PolicyDocument } from './engine';
import { policySchema } from './policy-schema';

/** Where the shipped policy files live: one `<region>-<year>.yaml` per region and year. */
export const policyDirectory = fileURLToPath(new URL('./policies/', import.meta.url));

const validateDocument = new Ajv({ allErrors: false, strict: true }).compile<PolicyDocument>(policySchema);

/** `/a/b: must be integer`, pointing at the key itself for a missing or unknown key. */
function describeSchemaError(error: ErrorObject): string {
  const path = error.instancePath === '' ? '' : error.instancePath;
  if (error.keyword === 'additionalProperties') {
    return `${path}/${String(error.params.additionalProperty)}: is not a known key`;
  }
  if (error.keyword === 'required') return `${path}/${String(error.params.missingProperty)}: is required`;
  if (error.keyword === 'enum') return `${path || '/'}: must be one of ${(error.params.allowedValues as unknown[]).map(String).join(', ')}`;
  return `${path || '/'}: ${error.message ?? 'is invalid'}`;
}

/**
 * Parses, validates and compiles the text of a policy file. `file` names it in errors
 * (`policies/x.yaml: /criticalIllness/segments/1/ratioBp: must be integer`).
 *
 * @throws HubError POLICY_INVALID
 */
export function parsePolicy(text: string, file: string): Policy {
  let document: unknown;
  try {
    document = parseYaml(text, { uniqueKeys: true });
  } catch (error) {
    const where = error instanceof YAMLParseError && error.linePos !== undefined ? `line ${error.linePos[0].line}` : 'YAML';
    const reason = error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error);
    throw new HubError('POLICY_INVALID', `${file}: ${where}: ${reason}`, { cause: error, detail: { file } });
  }
  if (!validateDocument(document)) {
    const first = validateDocument.errors?.[0];
    const message = first === undefined ? '/: is invalid' : describeSchemaError(first);
    throw new HubError('POLICY_INVALID', `${file}: ${message}`, { detail: { file, path: message.split(':')[0] } });
  }
  return compilePolicy(document, file);
}

const loaded = new Map<string, Policy>();

/**
 * Loads a shipped policy by id (`xianyang-2020`), validated and compiled; cached after the first load.
 *
 * @throws HubError POLICY_NOT_FOUND for an unknown id, POLICY_INVALID for a bad file.
 */
export function loadPolicy(id: string): Policy {
  const cached = loaded.get(id);
  if (cached !== undefined) return cached;
  if (!listPolicies().includes(id)) {
    throw new HubError('POLICY_NOT_FOUND', `no policy "${id}" (known: ${listPolicies().join(', ')})`, { detail: { policyId: id } });
  }
  const file = `policies/${id}.yaml`;
  const policy = parsePolicy(readFileSync(`${policyDirectory}${id}.yaml`, 'utf8'), file);
  if (policy.id !== id)
    throw new HubError('POLICY_INVALID', `${file}: /id: "${policy.id}" does not match the file name`, { detail: { file, path: '/id' } });
  loaded.set(id, policy);
  return policy;
}

/** Ids of the shipped policies, sorted. */
export function listPolicies(): readonly string[] {
  return readdirSync(policyDirectory)
    .filter((name) => name.endsWith('.yaml'))
    .map((name) => name.slice(0, -'.yaml'.length))
    .sort();
}
