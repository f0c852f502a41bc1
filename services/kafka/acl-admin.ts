import kafkajs, { Kafka, logLevel, type AclEntry, type Admin } from 'kafkajs';
import { topics, type TopicId } from '../../schemas';
import { HubError } from '../platform';
import {
  aclBindings,
  hubTopicNames,
  kafkaPrincipals,
  type AclBinding,
  type AclOperation,
  type AclPatternType,
  type AclResourceType,
} from './acls';
import { kafkaClientSecurity, type KafkaSecurity } from './security';

/**
 * The operator's side of a cluster with ACLs (the secure local Kafka): the hub's topics created by
 * the operator, since no role may create them, and the cluster's ACLs made exactly the declared ones.
 */

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

// kafkajs's CommonJS exports these enums in a way Node's ESM named-import detection does not see.
const { AclOperationTypes, AclPermissionTypes, AclResourceTypes, ResourcePatternTypes } = kafkajs;

const resourceTypes: Readonly<Record<AclResourceType, AclEntry['resourceType']>> = {
  topic: AclResourceTypes.TOPIC,
  group: AclResourceTypes.GROUP,
  transactionalId: AclResourceTypes.TRANSACTIONAL_ID,
  cluster: AclResourceTypes.CLUSTER,
};
const operations: Readonly<Record<AclOperation, AclEntry['operation']>> = {
  Read: AclOperationTypes.READ,
  Write: AclOperationTypes.WRITE,
  Describe: AclOperationTypes.DESCRIBE,
  IdempotentWrite: AclOperationTypes.IDEMPOTENT_WRITE,
};
const patternTypes: Readonly<Record<AclPatternType, AclEntry['resourcePatternType']>> = {
  literal: ResourcePatternTypes.LITERAL,
  prefix: ResourcePatternTypes.PREFIXED,
};

function toEntry(binding: AclBinding): AclEntry {
  return {
    resourceType: resourceTypes[binding.resourceType],
    resourceName: binding.resourceName,
    resourcePatternType: patternTypes[binding.patternType],
    principal: binding.principal,
    host: '*',
    operation: operations[binding.operation],
    permissionType: AclPermissionTypes.ALLOW,
  };
}

/** A stable text of a kafkajs ACL entry, comparable with `toEntry` of a declared binding. */
const entryKey = (e: AclEntry): string =>
  [e.principal, e.host, e.resourceType, e.resourcePatternType, e.resourceName, e.operation, e.permissionType].join('|');

/** The ACLs a cluster holds, as kafkajs entries. */
export async function describeAllAcls(admin: Admin): Promise<AclEntry[]> {
  const answer = await admin.describeAcls({
    resourceType: AclResourceTypes.ANY,
    resourcePatternType: ResourcePatternTypes.ANY,
    operation: AclOperationTypes.ANY,
    permissionType: AclPermissionTypes.ANY,
  });
  return answer.resources.flatMap((resource) =>
    resource.acls.map((acl) => ({
      resourceType: resource.resourceType,
      resourceName: resource.resourceName,
      resourcePatternType: resource.resourcePatternType,
      ...acl,
    })),
  );
}

/**
 * Makes the cluster's ACLs exactly the declared ones for `topicPrefix`: creates what is missing and
 * deletes what is not declared (the secure broker is the hub's alone). Returns how many of each.
 */
async function reconcileAcls(admin: Admin, topicPrefix: string): Promise<{ created: number; deleted: number; total: number }> {
  const wanted = new Map(
    aclBindings(kafkaPrincipals(topicPrefix)).map((binding) => {
      const entry = toEntry(binding);
      return [entryKey(entry), entry] as const;
    }),
  );
  const present = await describeAllAcls(admin);
  const presentKeys = new Set(present.map(entryKey));
  const missing = [...wanted].filter(([key]) => !presentKeys.has(key)).map(([, entry]) => entry);
  const extra = present.filter((entry) => !wanted.has(entryKey(entry)));
  if (missing.length > 0) await admin.createAcls({ acl: missing });
  if (extra.length > 0) await admin.deleteAcls({ filters: extra });
  // The controller has committed the change; the broker's authorizer applies it when it has read
  // the metadata log that far (seconds after a first start). Until then it would refuse what the
  // ACLs allow: wait until the broker describes exactly the declared set.
  const deadline = Date.now() + 60_000;
  for (;;) {
    const now = new Set((await describeAllAcls(admin)).map(entryKey));
    if (now.size === wanted.size && [...wanted.keys()].every((key) => now.has(key))) break;
    if (Date.now() > deadline)
      throw new HubError('UNAVAILABLE', `the broker describes ${now.size} ACLs a minute after ${wanted.size} were declared`);
    await sleep(250);
  }
  return { created: missing.length, deleted: extra.length, total: wanted.size };
}

/** Creates the hub's topics: on this cluster no role may (none has Create), so the operator does. */
async function ensureTopics(admin: Admin, topicPrefix: string, partitions: number): Promise<number> {
  const existing = new Set(await admin.listTopics());
  const missing = Object.entries(hubTopicNames(topicPrefix)).filter(([, name]) => !existing.has(name));
  if (missing.length === 0) return 0;
  await admin.createTopics({
    waitForLeaders: true,
    topics: missing.map(([id, name]) => ({
      topic: name,
      numPartitions: partitions,
      replicationFactor: 1,
      configEntries: Object.entries(topics[id as TopicId].config).map(([key, value]) => ({ name: key, value })),
    })),
  });
  return missing.length;
}

/**
 * Creates the hub's missing topics under `topicPrefix` with their settings (schemas/index.ts) and
 * makes the cluster's ACLs exactly those declared in acls.ts, as the operator (`security`).
 */
export async function provisionSecureCluster(
  brokers: readonly string[],
  security: KafkaSecurity,
  topicPrefix: string,
  partitions: number,
): Promise<{ topics: number; acls: { created: number; deleted: number; total: number } }> {
  const admin = new Kafka({
    clientId: 'hub-stack-secure',
    brokers: [...brokers],
    logLevel: logLevel.NOTHING,
    ...kafkaClientSecurity(security),
  }).admin();
  try {
    await admin.connect();
    const created = await ensureTopics(admin, topicPrefix, partitions);
    const acls = await reconcileAcls(admin, topicPrefix);
    return { topics: created, acls };
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
