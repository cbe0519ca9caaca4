#!/usr/bin/env bash
# Puts a Kafka 4 broker (org.apache.kafka:kafka_2.13, version in test/support/services/kafka/pom.xml) and its
# runtime jars into .cache/kafka/lib for the Kafka integration tests (test/support/services/kafka-cluster.ts).
# Does nothing when the jars of that version are already there. Needs Maven and Java 17+.
set -euo pipefail
cd "$(dirname "$0")/.."

pom=test/support/services/kafka/pom.xml
lib="${KAFKA_LIB_DIR:-$PWD/.cache/kafka/lib}"
version=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$pom")
marker="$lib/kafka_2.13-${version}.jar"

if [ -f "$marker" ] && [ -f "$lib/.complete" ]; then
  echo "Kafka ${version} jars already in ${lib}"
  exit 0
fi

echo "fetching Kafka ${version} jars into ${lib}"
# A half-filled folder from an interrupted run (or another version's jars) is replaced whole.
rm -rf "$lib"
mkdir -p "$lib"
mvn -q -B -Dstyle.color=never -f "$pom" dependency:copy-dependencies -DoutputDirectory="$lib"
test -f "$marker"
touch "$lib/.complete"
echo "Kafka ${version}: $(ls "$lib" | grep -c '\.jar$') jars in ${lib}"
