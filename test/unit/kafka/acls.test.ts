import { describe, expect, it } from 'vitest';
import { topics } from '../../../schemas';
import { aclBindings, connectorPrincipals, kafkaPrincipals } from '../../../services/kafka';

const inboundNames = Object.values(topics)
  .filter((t) => t.direction === 'inbound')
  .map((t) => t.name);

describe('the declared Kafka principals and ACLs', () => {
  const principals = kafkaPrincipals();
  const bindings = aclBindings(principals);
  const allowed = (principal: string, operation: string, type: string, name: string): boolean =>
    bindings.some(
      (b) =>
        b.principal === `User:${principal}` &&
        b.operation === operation &&
        b.resourceType === type &&
        (b.patternType === 'literal' ? b.resourceName === name : name.startsWith(b.resourceName)),
    );

  it('has one principal per connector and service, and the operator as the only super user', () => {
    expect(principals.map((p) => p.name)).toEqual([
      'admin',
      'civil-affairs',
      'rural-revitalization',
      'hospitals',
      'tax',
      'rules',
      'warnings',
      'delivery',
      'desk',
    ]);
    expect(principals.filter((p) => p.superUser).map((p) => p.name)).toEqual(['admin']);
  });

  it('lets each connector write exactly one inbound topic, its own, and read nothing', () => {
    for (const connector of connectorPrincipals) {
      const writes = inboundNames.filter((name) => allowed(connector, 'Write', 'topic', name));
      expect(writes).toEqual([
        `${connector}.${connector === 'hospitals' ? 'settlements' : connector === 'tax' ? 'contributions' : 'status-changes'}`,
      ]);
      expect(allowed(connector, 'Write', 'topic', 'hub.dead-letters')).toBe(true);
      expect(bindings.filter((b) => b.principal === `User:${connector}` && b.operation === 'Read')).toEqual([]);
      expect(allowed(connector, 'Write', 'transactionalId', `intake-${connector}-0b7c`)).toBe(true);
    }
    expect(allowed('rural-revitalization', 'Write', 'transactionalId', 'intake-civil-affairs-0b7c')).toBe(false);
  });

  it("gives no role Create, Delete, Alter or All: topics and ACLs are the operator's", () => {
    expect(new Set(bindings.map((b) => b.operation))).toEqual(new Set(['Read', 'Write', 'Describe', 'IdempotentWrite']));
  });

  it('lets only the services that consume warnings read them', () => {
    const readers = principals.filter((p) => allowed(p.name, 'Read', 'topic', 'warnings.quarterly')).map((p) => p.name);
    expect(readers).toEqual(['warnings', 'delivery', 'desk']);
  });

  it('prefixes topics, groups and transactional ids, not the throwaway reader groups', () => {
    const names = aclBindings(kafkaPrincipals('it-x.')).map((b) => b.resourceName);
    expect(names.filter((name) => !name.startsWith('it-x.'))).toEqual(expect.arrayContaining(['hub-read-', 'kafka-cluster']));
    expect(new Set(names.filter((name) => !name.startsWith('it-x.')))).toEqual(new Set(['hub-read-', 'kafka-cluster']));
  });
});
