import { Compatibility, type Client } from '@confluentinc/schemaregistry';
import { schemaText, topics, type TopicId } from '../../schemas';
import { HubError, describeError } from '../platform';
import { valueSubject } from './codec';

export interface SubjectPlan {
  readonly id: TopicId;
  readonly subject: string;
  readonly schema: string;
}

/** Every topic's value subject with the committed schema text (from `dir`, schemas/ by default). */
export function subjectPlan(topicPrefix: string, dir?: string): SubjectPlan[] {
  return (Object.keys(topics) as TopicId[]).map((id) => ({
    id,
    subject: valueSubject(`${topicPrefix}${topics[id].name}`),
    schema: schemaText(topics[id].schema, dir),
  }));
}

export type CheckOutcome = 'new' | 'unchanged' | 'compatible' | 'incompatible';

export interface SubjectResult {
  readonly subject: string;
  readonly outcome: CheckOutcome | 'registered';
  readonly schemaId?: number;
  readonly version?: number;
}

function isNotFound(error: unknown): boolean {
  return /404|40401|40403|not found/i.test(describeError(error));
}

async function latestOf(client: Client, subject: string): Promise<{ schema: string; id: number; version: number } | undefined> {
  try {
    const latest = await client.getLatestSchemaMetadata(subject);
    return { schema: latest.schema ?? '', id: latest.id ?? 0, version: latest.version ?? 0 };
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw new HubError('REGISTRY_UNAVAILABLE', `cannot read ${subject}: ${describeError(error)}`, { cause: error });
  }
}

/** JSON with object keys sorted at every depth: registries may reorder keys, which changes nothing. */
function canonicalJson(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonicalJson);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((k) => [k, canonicalJson((value as Record<string, unknown>)[k])]),
  );
}

function sameSchema(a: string, b: string): boolean {
  try {
    return JSON.stringify(canonicalJson(JSON.parse(a))) === JSON.stringify(canonicalJson(JSON.parse(b)));
  } catch {
    return a === b;
  }
}

/**
 * Asks the registry whether each committed schema may replace the subject's latest version under
 * BACKWARD compatibility. The registry decides; nothing is judged locally.
 */
export async function checkSubjects(client: Client, plan: readonly SubjectPlan[]): Promise<SubjectResult[]> {
  const results: SubjectResult[] = [];
  for (const item of plan) {
    const latest = await latestOf(client, item.subject);
    if (latest === undefined) {
      results.push({ subject: item.subject, outcome: 'new' });
      continue;
    }
    if (sameSchema(latest.schema, item.schema)) {
      results.push({ subject: item.subject, outcome: 'unchanged', schemaId: latest.id, version: latest.version });
      continue;
    }
    let compatible: boolean;
    try {
      compatible = await client.testSubjectCompatibility(item.subject, { schemaType: 'AVRO', schema: item.schema });
    } catch (error) {
      if (/409|incompatible/i.test(describeError(error))) compatible = false;
      else throw new HubError('REGISTRY_UNAVAILABLE', `cannot test ${item.subject}: ${describeError(error)}`, { cause: error });
    }
    results.push({ subject: item.subject, outcome: compatible ? 'compatible' : 'incompatible', version: latest.version });
  }
  return results;
}

/**
 * Sets BACKWARD compatibility on each subject and registers the committed schema. Registering the
 * same schema again returns the same id, so this is safe to run at every start.
 */
export async function registerSubjects(client: Client, plan: readonly SubjectPlan[]): Promise<SubjectResult[]> {
  const results: SubjectResult[] = [];
  for (const item of plan) {
    try {
      await client.updateCompatibility(item.subject, Compatibility.BACKWARD);
      const registered = await client.registerFullResponse(item.subject, { schemaType: 'AVRO', schema: item.schema }, false);
      const result: SubjectResult = { subject: item.subject, outcome: 'registered', schemaId: registered.id ?? 0 };
      results.push(registered.version === undefined ? result : { ...result, version: registered.version });
    } catch (error) {
      const message = describeError(error);
      if (/409|incompatible/i.test(message)) {
        throw new HubError(
          'SCHEMA_INCOMPATIBLE',
          `the registry refused ${item.subject}: not BACKWARD compatible with its latest version (${message})`,
          { cause: error, detail: { subject: item.subject } },
        );
      }
      throw new HubError('REGISTRY_UNAVAILABLE', `cannot register ${item.subject}: ${message}`, { cause: error });
    }
  }
  return results;
}
