import { HubError, loadConfig, type RoleMain } from '../platform';
import { createRegistryClient } from './client';
import { checkSubjects, registerSubjects, subjectPlan, type SubjectResult } from './subjects';

const usage = 'usage: hub schemas register|check [--dir DIR]';

/** Registers every topic's committed schema with the registry as its current version. */
export async function registerAllSchemas(env: Readonly<Record<string, string | undefined>>, dir?: string): Promise<SubjectResult[]> {
  const config = loadConfig(env, ['schemaRegistryUrl', 'topicPrefix']);
  return registerSubjects(createRegistryClient(config.schemaRegistryUrl), subjectPlan(config.topicPrefix, dir));
}

/**
 * `hub schemas register`: sets BACKWARD compatibility on every subject and registers the committed
 * schemas. `hub schemas check`: asks the registry whether each committed schema is compatible with
 * what is registered; exits 1 naming every incompatible subject. `--dir` reads schemas from another
 * folder (a branch's schemas, before merging).
 */
export const runSchemas: RoleMain = async (args, io) => {
  const [action, ...rest] = args;
  let dir: string | undefined;
  for (let i = 0; i < rest.length; i += 1) {
    if (rest[i] === '--dir' && rest[i + 1] !== undefined) {
      dir = rest[i + 1];
      i += 1;
    } else throw new HubError('USAGE', `unexpected argument '${rest[i]}'\n${usage}`);
  }
  const config = loadConfig(io.env, ['schemaRegistryUrl', 'topicPrefix']);
  const client = createRegistryClient(config.schemaRegistryUrl);
  const plan = subjectPlan(config.topicPrefix, dir);
  if (action === 'register') {
    for (const result of await registerSubjects(client, plan)) {
      io.stdout.write(`${result.subject.padEnd(48)} registered  id ${result.schemaId ?? '?'}  version ${result.version ?? '?'}\n`);
    }
    return 0;
  }
  if (action === 'check') {
    const results = await checkSubjects(client, plan);
    for (const result of results) io.stdout.write(`${result.subject.padEnd(48)} ${result.outcome}\n`);
    const refused = results.filter((r) => r.outcome === 'incompatible');
    if (refused.length > 0) {
      io.stderr.write(
        `hub: SCHEMA_INCOMPATIBLE: the registry refuses ${refused.map((r) => r.subject).join(', ')} under BACKWARD compatibility\n`,
      );
      return 1;
    }
    return 0;
  }
  throw new HubError('USAGE', usage);
};
