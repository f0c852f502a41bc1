import { randomUUID } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { topics } from '../../schemas';
import { effectiveEnvironment, loadConfig } from '../../services/platform';
import { createRegistryClient } from '../../services/registry/runtime';
import { runHub } from '../support/run-hub';

/**
 * Issue 12 item 5: the settlement schema gains 病种编码 (dise_codg) with a default. The real
 * registry must judge it compatible with the schema before it (the committed one without the
 * field) and take it as the subject's next version.
 */
describe('the settlement schema with a disease code', () => {
  const prefix = `it-${randomUUID().slice(0, 8)}.`;
  const env = { ...effectiveEnvironment(), HUB_TOPIC_PREFIX: prefix };
  const subject = `${prefix}${topics.hospitalSettlements.name}-value`;

  it('is a compatible change the registry takes over the schema without it', async () => {
    const before = mkdtempSync(join(tmpdir(), 'hub-schemas-before-'));
    cpSync(join(import.meta.dirname, '../../schemas'), before, { recursive: true });
    const file = join(before, 'hospital-settlement.avsc');
    const schema = JSON.parse(readFileSync(file, 'utf8')) as { fields: Array<{ name: string }> };
    expect(schema.fields.at(-1)?.name).toBe('dise_codg');
    writeFileSync(file, JSON.stringify({ ...schema, fields: schema.fields.filter((field) => field.name !== 'dise_codg') }));

    expect((await runHub(['schemas', 'register', '--dir', before], env)).code).toBe(0);
    const check = await runHub(['schemas', 'check'], env);
    expect(check.stdout).toMatch(new RegExp(`${subject.replace(/\./g, '\\.')}\\s+compatible\\n`));
    expect(check.code).toBe(0);
    expect((await runHub(['schemas', 'register'], env)).code).toBe(0);
    const latest = await createRegistryClient(loadConfig(env, ['schemaRegistryUrl']).schemaRegistryUrl).getLatestSchemaMetadata(subject);
    expect(latest.version).toBe(2);
    expect(latest.schema).toContain('dise_codg');
  });
});
