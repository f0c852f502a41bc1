#!/bin/bash
# Starts one node of the compose Kafka cluster (apache/kafka image): KRaft, controller and broker in
# one process, SASL on every listener, the StandardAuthorizer with no access unless an ACL grants it.
#   clients and brokers: SASL_PLAINTEXT on 9092, SCRAM-SHA-512 (credentials in the metadata log)
#   controllers:         SASL_PLAINTEXT on 9093, PLAIN (KRaft controllers cannot use SCRAM)
# On first start the storage is formatted with a SCRAM credential per principal: admin (super user,
# also the inter-broker principal) and each name in KAFKA_PRINCIPALS, whose password is the variable
# KAFKA_PASSWORD_<NAME> (upper case, - as _). A principal added later: deploy/RUNBOOK.md.
set -euo pipefail
: "${KAFKA_NODE_ID:?}" "${KAFKA_CLUSTER_ID:?}" "${KAFKA_ADMIN_PASSWORD:?}" "${KAFKA_PRINCIPALS:?}" "${KAFKA_VOTERS:?}"
conf=/tmp/server.properties
umask 077
cat > "$conf" <<PROPERTIES
process.roles=broker,controller
node.id=${KAFKA_NODE_ID}
controller.quorum.voters=${KAFKA_VOTERS}
listeners=BROKER://:9092,CONTROLLER://:9093
advertised.listeners=BROKER://kafka-${KAFKA_NODE_ID}:9092
listener.security.protocol.map=BROKER:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT
inter.broker.listener.name=BROKER
controller.listener.names=CONTROLLER
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.broker.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="${KAFKA_ADMIN_PASSWORD}";
sasl.mechanism.controller.protocol=PLAIN
listener.name.controller.sasl.enabled.mechanisms=PLAIN
listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="${KAFKA_ADMIN_PASSWORD}" user_admin="${KAFKA_ADMIN_PASSWORD}";
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:admin
allow.everyone.if.no.acl.found=false
auto.create.topics.enable=false
log.dirs=/var/lib/kafka/data
num.partitions=1
default.replication.factor=3
min.insync.replicas=2
offsets.topic.replication.factor=3
transaction.state.log.replication.factor=3
transaction.state.log.min.isr=2
PROPERTIES
cat > /tmp/admin.properties <<PROPERTIES
security.protocol=SASL_PLAINTEXT
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="${KAFKA_ADMIN_PASSWORD}";
PROPERTIES
scram=(--add-scram "SCRAM-SHA-512=[name=admin,password=${KAFKA_ADMIN_PASSWORD}]")
for principal in ${KAFKA_PRINCIPALS}; do
  variable="KAFKA_PASSWORD_$(echo "$principal" | tr 'a-z-' 'A-Z_')"
  password="${!variable:?$variable is required (deploy/compose/.env)}"
  scram+=(--add-scram "SCRAM-SHA-512=[name=${principal},password=${password}]")
done
/opt/kafka/bin/kafka-storage.sh format --ignore-formatted -t "${KAFKA_CLUSTER_ID}" -c "$conf" "${scram[@]}"
exec /opt/kafka/bin/kafka-server-start.sh "$conf"
