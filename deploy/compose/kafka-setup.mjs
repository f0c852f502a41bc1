// Creates the hub's topics and Kafka ACLs on the compose cluster, as the admin principal, from the
// same declarations the Kubernetes deployment uses (deploy/k8s/topics.yaml, deploy/k8s/users.yaml):
// one source for both. Runs in the hub image (kafkajs and yaml from /app/node_modules) as the
// compose service `kafka-setup`; existing topics and ACLs are left as they are, so it can run again.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
// kafkajs is CommonJS: Node gives an ES module its default export only.
import kafkajs from 'kafkajs';
import { parseAllDocuments } from 'yaml';

const { Kafka, AclOperationTypes, AclPermissionTypes, AclResourceTypes, ResourcePatternTypes } = kafkajs;

const resourceTypes = {
  topic: AclResourceTypes.TOPIC,
  group: AclResourceTypes.GROUP,
  cluster: AclResourceTypes.CLUSTER,
  transactionalId: AclResourceTypes.TRANSACTIONAL_ID,
};
const patternTypes = { literal: ResourcePatternTypes.LITERAL, prefix: ResourcePatternTypes.PREFIXED };
const operationTypes = {
  All: AclOperationTypes.ALL,
  Read: AclOperationTypes.READ,
  Write: AclOperationTypes.WRITE,
  Create: AclOperationTypes.CREATE,
  Delete: AclOperationTypes.DELETE,
  Alter: AclOperationTypes.ALTER,
  Describe: AclOperationTypes.DESCRIBE,
  ClusterAction: AclOperationTypes.CLUSTER_ACTION,
  DescribeConfigs: AclOperationTypes.DESCRIBE_CONFIGS,
  AlterConfigs: AclOperationTypes.ALTER_CONFIGS,
  IdempotentWrite: AclOperationTypes.IDEMPOTENT_WRITE,
};

/** The documents of a YAML stream of a given kind. */
export function manifests(text, kind) {
  return parseAllDocuments(text)
    .map((doc) => doc.toJS())
    .filter((doc) => doc?.kind === kind);
}

/** KafkaTopic resources as kafkajs createTopics entries. */
export function topicsOf(text) {
  return manifests(text, 'KafkaTopic').map((topic) => ({
    topic: topic.spec.topicName ?? topic.metadata.name,
    numPartitions: topic.spec.partitions,
    replicationFactor: topic.spec.replicas,
    configEntries: Object.entries(topic.spec.config ?? {}).map(([name, value]) => ({ name, value: String(value) })),
  }));
}

/** KafkaUser resources' ACLs as kafkajs createAcls entries (principal User:<name>, any host, allow). */
export function aclsOf(text) {
  return manifests(text, 'KafkaUser').flatMap((user) =>
    (user.spec.authorization?.acls ?? []).flatMap((rule) => {
      const { type, name, patternType = 'literal' } = rule.resource;
      const operations = rule.operations ?? [rule.operation];
      return operations.map((operation) => {
        const entry = {
          resourceType: resourceTypes[type],
          resourceName: type === 'cluster' ? 'kafka-cluster' : name,
          resourcePatternType: patternTypes[patternType],
          principal: `User:${user.metadata.name}`,
          host: rule.host ?? '*',
          operation: operationTypes[operation],
          permissionType: AclPermissionTypes.ALLOW,
        };
        for (const [field, value] of Object.entries(entry)) {
          if (value === undefined) throw new Error(`KafkaUser ${user.metadata.name}: cannot map ${field} of ${JSON.stringify(rule)}`);
        }
        return entry;
      });
    }),
  );
}

async function main() {
  const env = process.env;
  const need = (key) => {
    const value = env[key];
    if (value === undefined || value === '') throw new Error(`${key} is required`);
    return value;
  };
  const kafka = new Kafka({
    clientId: 'hub-kafka-setup',
    brokers: need('HUB_KAFKA_BROKERS').split(','),
    sasl: { mechanism: 'scram-sha-512', username: need('KAFKA_ADMIN_USER'), password: need('KAFKA_ADMIN_PASSWORD') },
  });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const declared = topicsOf(readFileSync(need('HUB_TOPICS_FILE'), 'utf8'));
    const existing = new Set(await admin.listTopics());
    const missing = declared.filter((topic) => !existing.has(topic.topic));
    if (missing.length > 0) await admin.createTopics({ topics: missing, waitForLeaders: true });
    const acls = aclsOf(readFileSync(need('HUB_USERS_FILE'), 'utf8'));
    await admin.createAcls({ acl: acls });
    process.stdout.write(
      `kafka-setup: ${missing.length} topic(s) created, ${declared.length - missing.length} present; ${acls.length} ACL entries applied\n`,
    );
  } finally {
    await admin.disconnect();
  }
}

/** A cluster just formed may not know a new topic's leaders on every broker yet: try again a few times. */
async function withRetries(attempts) {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await main();
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      if (attempt >= attempts) throw error;
      process.stderr.write(`kafka-setup: ${reason}; again in 5 s (${attempt}/${attempts})\n`);
      await new Promise((resolve) => setTimeout(resolve, 5000));
    }
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  withRetries(6).catch((error) => {
    process.stderr.write(`kafka-setup: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
