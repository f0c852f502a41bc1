import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { topics } from '../../../schemas';
import { agencies } from '../../../connectors';
import { defaultConnectorPorts } from '../../../connectors/api/runtime';
import { usage } from '../../../services/cli';
import { configSpec, loadConfig, type Environment } from '../../../services/platform';
import { defaultOpsPort } from '../../../services/rules/runtime';
import { aclBindingKey, aclBindings, clusterResourceName, kafkaPrincipals, operatorPrincipal } from '../../../services/kafka';
// The compose cluster's setup script maps the same manifests to Kafka's topics and ACLs.
import { aclsOf, topicsOf } from '../../../deploy/compose/kafka-setup.mjs';

/**
 * The deployment files (deploy/compose, deploy/k8s) against the code: the topics it declares, the
 * roles the `hub` command has, the configuration keys it knows, the ports its roles listen on and
 * the Kafka access each role's code needs.
 */

interface Manifest {
  kind: string;
  metadata: { name: string };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}
interface Container {
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  ports?: { containerPort: number }[];
  readinessProbe?: { httpGet?: { path: string; port: number } };
  livenessProbe?: { httpGet?: { path: string; port: number } };
}
interface Acl {
  resource: { type: string; name?: string; patternType?: string };
  operations: string[];
}
interface ComposeService {
  image?: string;
  entrypoint?: string[];
  command?: string[];
  environment?: Record<string, string | number>;
  healthcheck?: { test: string[] };
}

const root = join(import.meta.dirname, '..', '..', '..');
const text = (path: string): string => readFileSync(join(root, path), 'utf8');
const k8sFiles = readdirSync(join(root, 'deploy', 'k8s'))
  .filter((file) => file.endsWith('.yaml'))
  .sort();
const manifests: Manifest[] = k8sFiles.flatMap((file) =>
  parseAllDocuments(text(`deploy/k8s/${file}`))
    .map((doc) => doc.toJS() as Manifest)
    .filter((doc) => doc !== null),
);
const ofKind = (kind: string): Manifest[] => manifests.filter((m) => m.kind === kind);
const compose = parse(text('deploy/compose/compose.yaml'), { merge: true }) as { services: Record<string, ComposeService> };

const hubImage = (image: string | undefined): boolean => image !== undefined && /(^|\/)medsec-hub:/.test(image);
const podContainers = (m: Manifest): Container[] => {
  const spec = m.spec as { template: { spec: { containers: Container[] } } };
  return spec.template.spec.containers;
};
const hubWorkloads = [...ofKind('Deployment'), ...ofKind('Job')].flatMap((m) =>
  podContainers(m)
    .filter((c) => hubImage((c as { image?: string }).image))
    .map((container) => ({ name: m.metadata.name, kind: m.kind, container })),
);
const deployments = hubWorkloads.filter((w) => w.kind === 'Deployment');
const composeRoles = Object.entries(compose.services).filter(([, s]) => hubImage(s.image) && s.entrypoint === undefined);

const cliRoles = new Set([...usage().matchAll(/^ {2}(\S+)/gm)].map((m) => m[1]));
const configMap = ofKind('ConfigMap').find((m) => m.metadata.name === 'hub-config')?.data ?? {};
const nodeVariables = new Set(['NODE_OPTIONS', 'NODE_EXTRA_CA_CERTS']);
const knownKeys = new Set<string>(Object.values(configSpec).map((spec) => spec.env));

/** The variables a Deployment's container sees: its ConfigMap and Secrets (by their example's keys) and its own env. */
function podEnvironment(container: Container): { keys: string[]; values: Record<string, string> } {
  const keys: string[] = [];
  const values: Record<string, string> = {};
  for (const source of container.envFrom ?? []) {
    const name = source.configMapRef?.name ?? source.secretRef?.name;
    const found = manifests.find((m) => m.metadata.name === name && (m.kind === 'ConfigMap' || m.kind === 'Secret'));
    if (found === undefined) throw new Error(`envFrom names ${name ?? '?'}, which no manifest defines`);
    const data = found.data ?? found.stringData ?? {};
    keys.push(...Object.keys(data));
    if (found.kind === 'ConfigMap') Object.assign(values, data);
  }
  for (const entry of container.env ?? []) {
    keys.push(entry.name);
    if (entry.value !== undefined) values[entry.name] = String(entry.value);
  }
  return { keys, values };
}

const composeEnvironment = (service: ComposeService): Record<string, string> =>
  Object.fromEntries(Object.entries(service.environment ?? {}).map(([key, value]) => [key, String(value)]));

/** Where a role answers /healthz and /readyz, as the code decides from its configuration. */
function healthPort(role: string, env: Environment): number {
  if (role in agencies) {
    const port = loadConfig(env, ['connectorPort']).connectorPort;
    return port === 0 ? defaultConnectorPorts[role as keyof typeof defaultConnectorPorts] : port;
  }
  if (role === 'rules') {
    const port = loadConfig(env, ['opsPort']).opsPort;
    return port === 0 ? defaultOpsPort : port;
  }
  if (role === 'warnings') return loadConfig(env, ['warningsOpsPort']).warningsOpsPort;
  if (role === 'desk') return loadConfig(env, ['deskPort']).deskPort;
  throw new Error(`no health port known for role ${role}`);
}

/** A value with compose interpolation (`${VAR:?…}`) is not checked here; a plain value is parsed as the role would. */
const literal = (values: Record<string, string>): Record<string, string> =>
  Object.fromEntries(Object.entries(values).filter(([, value]) => !value.includes('${')));

const topicAcls = (user: Manifest): { name: string; operations: string[] }[] =>
  ((user.spec as { authorization?: { acls: Acl[] } }).authorization?.acls ?? [])
    .filter((acl) => acl.resource.type === 'topic')
    .map((acl) => ({ name: acl.resource.name ?? '', operations: acl.operations }));

describe('deployment files against the code', () => {
  it('finds the workloads it checks', () => {
    expect(deployments.map((d) => d.name).sort()).toEqual([...Object.keys(agencies), 'desk', 'rules', 'warnings'].sort());
    expect(composeRoles.map(([name]) => name).sort()).toEqual([...Object.keys(agencies), 'desk', 'rules', 'schemas', 'warnings'].sort());
    expect(cliRoles.has('rules') && cliRoles.has('civil-affairs')).toBe(true);
  });

  it('declares a KafkaTopic for every topic of schemas/index.ts, with the partitions and replication the roles are configured with', () => {
    const declared = ofKind('KafkaTopic').map(
      (t) => t.spec as { topicName: string; partitions: number; replicas: number; config: Record<string, unknown> },
    );
    expect(declared.map((t) => t.topicName).sort()).toEqual(
      Object.values(topics)
        .map((t) => t.name)
        .sort(),
    );
    const k8s = loadConfig(literal(configMap), ['topicPartitions', 'topicReplication']);
    const composeConfigs = composeRoles
      .filter(([, s]) => s.environment?.HUB_KAFKA_BROKERS !== undefined)
      .map(([, s]) => loadConfig(literal(composeEnvironment(s)), ['topicPartitions', 'topicReplication']));
    for (const topic of declared) {
      expect(topic.partitions, topic.topicName).toBe(k8s.topicPartitions);
      expect(topic.replicas, topic.topicName).toBe(k8s.topicReplication);
      for (const config of composeConfigs)
        expect([config.topicPartitions, config.topicReplication]).toEqual([topic.partitions, topic.replicas]);
    }
    // Every topic keeps the settings the code creates it with (schemas/index.ts).
    for (const topic of Object.values(topics)) {
      const config = declared.find((t) => t.topicName === topic.name)?.config ?? {};
      for (const [key, value] of Object.entries(topic.config)) expect(String(config[key]), `${topic.name} ${key}`).toBe(value);
    }
  });

  it('runs only roles the hub command has', () => {
    for (const { name, container } of hubWorkloads)
      expect(cliRoles, `${name}: ${String(container.args?.[0])}`).toContain(container.args?.[0]);
    for (const [name, service] of composeRoles)
      expect(cliRoles, `${name}: ${String(service.command?.[0])}`).toContain(service.command?.[0]);
  });

  it('sets only configuration keys services/platform/config.ts knows, with values it accepts', () => {
    for (const { name, container } of hubWorkloads) {
      const { keys, values } = podEnvironment(container);
      for (const key of keys) expect(knownKeys.has(key) || nodeVariables.has(key), `${name}: ${key}`).toBe(true);
      expect(() =>
        loadConfig(
          literal(values),
          Object.keys(configSpec).filter(
            (k) => literal(values)[configSpec[k as keyof typeof configSpec].env] !== undefined,
          ) as (keyof typeof configSpec)[],
        ),
      ).not.toThrow();
    }
    // The image's own defaults (deploy/Dockerfile ENV).
    const imageKeys = [...text('deploy/Dockerfile').matchAll(/\b(HUB_[A-Z0-9_]+)=/g)].map((m) => m[1] ?? '');
    expect(imageKeys.length).toBeGreaterThan(0);
    for (const key of imageKeys) expect(knownKeys.has(key), `deploy/Dockerfile: ${key}`).toBe(true);
    for (const [name, service] of composeRoles) {
      const values = composeEnvironment(service);
      for (const key of Object.keys(values)) expect(knownKeys.has(key) || nodeVariables.has(key), `${name}: ${key}`).toBe(true);
      const given = literal(values);
      expect(() =>
        loadConfig(
          given,
          Object.keys(configSpec).filter(
            (k) => given[configSpec[k as keyof typeof configSpec].env] !== undefined,
          ) as (keyof typeof configSpec)[],
        ),
      ).not.toThrow();
    }
  });

  it('probes each role on the port it listens on', () => {
    for (const { name, container } of deployments) {
      const port = healthPort(container.args?.[0] ?? '', literal(podEnvironment(container).values));
      expect(container.readinessProbe?.httpGet, name).toEqual({ path: '/readyz', port });
      expect(container.livenessProbe?.httpGet, name).toEqual({ path: '/healthz', port });
      expect(
        container.ports?.map((p) => p.containerPort),
        name,
      ).toEqual([port]);
    }
    for (const [name, service] of composeRoles.filter(([, s]) => s.healthcheck !== undefined)) {
      const port = healthPort(service.command?.[0] ?? '', literal(composeEnvironment(service)));
      expect(service.healthcheck?.test.join(' '), name).toContain(`http://127.0.0.1:${port}/readyz`);
    }
    // Every long-running role has a health check.
    expect(composeRoles.filter(([, s]) => s.healthcheck === undefined).map(([name]) => name)).toEqual(['schemas']);
  });

  it('connects each role to Kafka as its own principal, one KafkaUser each, the same principals in compose', () => {
    const users = ofKind('KafkaUser')
      .map((u) => u.metadata.name)
      .sort();
    for (const { name, container } of deployments) {
      expect(podEnvironment(container).values.HUB_KAFKA_SASL_USERNAME, name).toBe(name);
      const password = container.env?.find((e) => e.name === 'HUB_KAFKA_SASL_PASSWORD')?.valueFrom;
      expect(password, name).toEqual({ secretKeyRef: { name, key: 'password' } });
      expect(users).toContain(name);
    }
    for (const [name, service] of composeRoles.filter(([n]) => n !== 'schemas'))
      expect(composeEnvironment(service).HUB_KAFKA_SASL_USERNAME, name).toBe(name);
    const principals = compose.services['kafka-1']?.environment?.KAFKA_PRINCIPALS;
    for (const node of ['kafka-1', 'kafka-2', 'kafka-3']) expect(compose.services[node]?.environment?.KAFKA_PRINCIPALS).toBe(principals);
    expect([...String(principals).split(' '), operatorPrincipal].sort()).toEqual(users);
  });

  it('gives every principal services/kafka/acls.ts declares exactly its ACLs, and topic ACLs only on declared topics', () => {
    const declared = kafkaPrincipals('');
    const users = ofKind('KafkaUser');
    for (const principal of declared) {
      const found = users.find((u) => u.metadata.name === principal.name);
      expect(found, principal.name).toBeDefined();
      const acls = (found?.spec as { authorization?: { acls: Acl[] } } | undefined)?.authorization?.acls ?? [];
      const bindings = acls.flatMap((acl) =>
        acl.operations.map((operation) =>
          [
            `User:${principal.name}`,
            acl.resource.type,
            acl.resource.patternType ?? 'literal',
            acl.resource.name ?? clusterResourceName,
            operation,
          ].join('|'),
        ),
      );
      expect(bindings.sort(), principal.name).toEqual(aclBindings([principal]).map(aclBindingKey).sort());
    }
    // The operator is the cluster's only super user.
    const kafka = ofKind('Kafka')[0]?.spec as { kafka: { authorization: { superUsers: string[] } } };
    expect(kafka.kafka.authorization.superUsers).toEqual(declared.filter((p) => p.superUser).map((p) => p.name));
    // Beyond the hub's principals, only the schema registry's own user, on its own store.
    expect(users.map((u) => u.metadata.name).filter((name) => !declared.some((p) => p.name === name))).toEqual(['schema-registry']);
    const hubTopics = new Set(Object.values(topics).map((t) => t.name));
    for (const u of users.filter((u) => u.metadata.name !== 'schema-registry')) {
      for (const acl of topicAcls(u)) expect(hubTopics, `${u.metadata.name}: ${acl.name}`).toContain(acl.name);
    }
  });

  it('maps every ACL of users.yaml and every topic of topics.yaml for the compose cluster', () => {
    const operations = ofKind('KafkaUser').flatMap((u) =>
      ((u.spec as { authorization?: { acls: Acl[] } }).authorization?.acls ?? []).flatMap((a) => a.operations),
    );
    const acls = aclsOf(text('deploy/k8s/users.yaml')) as { principal: string }[];
    expect(acls).toHaveLength(operations.length);
    expect(new Set(acls.map((a) => a.principal))).toEqual(
      new Set(
        ofKind('KafkaUser')
          .filter((u) => u.metadata.name !== operatorPrincipal)
          .map((u) => `User:${u.metadata.name}`),
      ),
    );
    const created = topicsOf(text('deploy/k8s/topics.yaml')) as { topic: string; configEntries: { name: string; value: string }[] }[];
    expect(created.map((t) => t.topic).sort()).toEqual(
      Object.values(topics)
        .map((t) => t.name)
        .sort(),
    );
    expect(created.every((t) => t.configEntries.some((e) => e.name === 'retention.ms' && e.value === '-1'))).toBe(true);
  });
});
