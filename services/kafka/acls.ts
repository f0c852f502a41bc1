import { topics, type TopicId } from '../../schemas';

/**
 * Who may do what on the hub's Kafka: one SCRAM principal per agency connector and per service, an
 * operator who is the only super user, and the ACLs of each, declared once, here, as data. The
 * local secure stack (`hub stack up --secure`) creates exactly these; deployment manifests (Strimzi
 * `KafkaUser` resources) are checked against them. The shape follows Strimzi's ACL rules: a
 * resource (type, name, literal or prefix pattern) and the operations allowed on it.
 *
 * Names are given for a topic prefix (HUB_TOPIC_PREFIX; the hub prefixes topics, group ids and
 * transactional ids with it), except the throwaway reader groups (`hub-read-<uuid>`), which the
 * Kafka client names without it.
 */

export type AclOperation = 'Read' | 'Write' | 'Describe' | 'IdempotentWrite';
export type AclResourceType = 'topic' | 'group' | 'transactionalId' | 'cluster';
export type AclPatternType = 'literal' | 'prefix';

export interface AclRule {
  readonly resource: {
    readonly type: AclResourceType;
    /** The cluster resource is always named `kafka-cluster`. */
    readonly name: string;
    readonly patternType: AclPatternType;
  };
  readonly operations: readonly AclOperation[];
}

export type PrincipalKind = 'operator' | 'connector' | 'service';

export interface KafkaPrincipal {
  /** The SCRAM user name; the Kafka principal is `User:<name>`. */
  readonly name: PrincipalName;
  readonly kind: PrincipalKind;
  /** What runs as this principal. */
  readonly runs: string;
  /** Allowed everything, ACLs or not. Only the operator. */
  readonly superUser: boolean;
  readonly acls: readonly AclRule[];
}

/** The operator's principal: creates topics, manages ACLs and credentials, runs `hub tail`, the demo and rebuild tooling. */
export const operatorPrincipal = 'admin';

export const connectorPrincipals = ['civil-affairs', 'rural-revitalization', 'hospitals', 'tax'] as const;
export const servicePrincipals = ['rules', 'warnings', 'desk', 'delivery'] as const;
export type PrincipalName = typeof operatorPrincipal | (typeof connectorPrincipals)[number] | (typeof servicePrincipals)[number];

/** The inbound topic each connector writes, and nobody else. */
const connectorTopic: Readonly<Record<(typeof connectorPrincipals)[number], TopicId>> = {
  'civil-affairs': 'civilAffairsStatus',
  'rural-revitalization': 'ruralRevitalizationStatus',
  hospitals: 'hospitalSettlements',
  tax: 'taxContributions',
};

const inbound: readonly TopicId[] = ['civilAffairsStatus', 'ruralRevitalizationStatus', 'hospitalSettlements', 'taxContributions'];
const rulesOutputs: readonly TopicId[] = ['benefitAdjustments', 'subsidyCorrections', 'selfPay'];

/** Group of the throwaway consumers that read a topic to its end (`readAll`); named without the topic prefix. */
export const readerGroupPrefix = 'hub-read-';
/** The name Kafka gives the cluster resource. */
export const clusterResourceName = 'kafka-cluster';

const literal = (type: AclResourceType, name: string, operations: readonly AclOperation[]): AclRule => ({
  resource: { type, name, patternType: 'literal' },
  operations,
});
const prefixed = (type: AclResourceType, name: string, operations: readonly AclOperation[]): AclRule => ({
  resource: { type, name, patternType: 'prefix' },
  operations,
});

/**
 * Every principal and its ACLs for one topic prefix ('' in a deployment of its own).
 *
 * - A connector writes its agency's topic and `hub.dead-letters`, in transactions of its own
 *   transactional ids (`<prefix>intake-<agency>-<uuid>`) and with the idempotent producer. The
 *   civil-affairs and rural-revitalization connectors also take the agencies' answers to warnings
 *   (`POST /v1/receipts`) and write them to `warnings.delivery-receipts`. No connector reads anything.
 * - The rules service reads the four inbound topics (group `hub-rules`, and `hub-rules-rebuild-*`
 *   for a rebuild), writes its three outputs and dead letters in transactions (`hub-rules-p<n>`,
 *   `hub-rules-set-offsets`), and reads its outputs back to their end (a rebuild compares them).
 * - The warnings service (`hub warnings`) reads certifications and settlements (the id directory,
 *   group `hub-warnings-ids`), self-pay (immediate alerts, `hub-warnings-immediate`) and its own
 *   warnings, writes `warnings.quarterly`, and in the same process feeds webhook delivery (group
 *   `hub-warnings-delivery`) and writes `warnings.delivery-receipts`.
 * - Delivery, as a role of its own: the delivery feed and its receipts alone (a subset of warnings).
 * - The desk reads the eight topics its read model shows (groups `hub-desk-<id>`) and writes nothing.
 */
export function kafkaPrincipals(topicPrefix = ''): readonly KafkaPrincipal[] {
  const topic = (id: TopicId): string => `${topicPrefix}${topics[id].name}`;
  const write = (id: TopicId): AclRule => literal('topic', topic(id), ['Write', 'Describe']);
  const read = (id: TopicId): AclRule => literal('topic', topic(id), ['Read', 'Describe']);
  const readWrite = (id: TopicId): AclRule => literal('topic', topic(id), ['Read', 'Write', 'Describe']);
  const group = (name: string): AclRule => literal('group', `${topicPrefix}${name}`, ['Read', 'Describe']);
  const readers = prefixed('group', readerGroupPrefix, ['Read', 'Describe']);
  const idempotent = literal('cluster', clusterResourceName, ['IdempotentWrite']);

  const connectors = connectorPrincipals.map((name): KafkaPrincipal => ({
    name,
    kind: 'connector',
    superUser: false,
    runs: `hub ${name} (push API) and hub import ${name}`,
    acls: [
      write(connectorTopic[name]),
      write('deadLetters'),
      ...(name === 'civil-affairs' || name === 'rural-revitalization' ? [write('deliveryReceipts')] : []),
      prefixed('transactionalId', `${topicPrefix}intake-${name}-`, ['Write', 'Describe']),
      idempotent,
    ],
  }));

  const services: KafkaPrincipal[] = [
    {
      name: 'rules',
      kind: 'service',
      superUser: false,
      runs: 'hub rules (and hub rules --rebuild)',
      acls: [
        ...inbound.map(read),
        ...rulesOutputs.map(readWrite),
        write('deadLetters'),
        prefixed('group', `${topicPrefix}hub-rules`, ['Read', 'Describe']),
        readers,
        prefixed('transactionalId', `${topicPrefix}hub-rules-`, ['Write', 'Describe']),
        idempotent,
      ],
    },
    {
      name: 'warnings',
      kind: 'service',
      superUser: false,
      runs: 'hub warnings (runs, immediate alerts, id directory, and the delivery feed in the same process)',
      acls: [
        read('civilAffairsStatus'),
        read('ruralRevitalizationStatus'),
        read('hospitalSettlements'),
        read('selfPay'),
        readWrite('quarterlyWarnings'),
        write('deliveryReceipts'),
        group('hub-warnings-ids'),
        group('hub-warnings-immediate'),
        group('hub-warnings-delivery'),
        readers,
        idempotent,
      ],
    },
    {
      name: 'delivery',
      kind: 'service',
      superUser: false,
      runs: 'webhook delivery of warnings and their receipts, when run apart from hub warnings',
      acls: [read('quarterlyWarnings'), write('deliveryReceipts'), group('hub-warnings-delivery'), idempotent],
    },
    {
      name: 'desk',
      kind: 'service',
      superUser: false,
      runs: 'hub desk (the read model)',
      acls: [
        ...(
          [
            'quarterlyWarnings',
            'deliveryReceipts',
            'benefitAdjustments',
            'subsidyCorrections',
            'selfPay',
            'civilAffairsStatus',
            'ruralRevitalizationStatus',
            'hospitalSettlements',
          ] as const
        ).map(read),
        prefixed('group', `${topicPrefix}hub-desk-`, ['Read', 'Describe']),
      ],
    },
  ];

  return [
    {
      name: operatorPrincipal,
      kind: 'operator',
      superUser: true,
      runs: 'the operator: topics, ACLs, credentials, hub tail, the demo, and the broker itself (inter-broker and controller)',
      acls: [],
    },
    ...connectors,
    ...services,
  ];
}

/** One ACL entry as Kafka stores it: allow `operation` on one resource pattern to `User:<principal>` from any host. */
export interface AclBinding {
  readonly principal: string;
  readonly resourceType: AclResourceType;
  readonly resourceName: string;
  readonly patternType: AclPatternType;
  readonly operation: AclOperation;
}

/** The principals' rules as individual Kafka ACL entries (what the authorizer stores and describes). */
export function aclBindings(principals: readonly KafkaPrincipal[]): AclBinding[] {
  return principals.flatMap((p) =>
    p.acls.flatMap((rule) =>
      rule.operations.map((operation) => ({
        principal: `User:${p.name}`,
        resourceType: rule.resource.type,
        resourceName: rule.resource.name,
        patternType: rule.resource.patternType,
        operation,
      })),
    ),
  );
}

/** A stable text of one entry, for comparing what a cluster or a manifest holds with what is declared. */
export function aclBindingKey(binding: AclBinding): string {
  return [binding.principal, binding.resourceType, binding.patternType, binding.resourceName, binding.operation].join('|');
}

/** The topics the hub uses, for the operator to create (a principal of a role cannot: none has Create). */
export function hubTopicNames(topicPrefix = ''): Readonly<Record<TopicId, string>> {
  return Object.fromEntries(Object.entries(topics).map(([id, t]) => [id, `${topicPrefix}${t.name}`])) as Record<TopicId, string>;
}
