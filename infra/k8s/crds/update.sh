#!/usr/bin/env bash
# Re-vendors the CustomResourceDefinitions the chart's rendered custom resources are validated
# against (test/deploy/k8s.test.ts), from package registries only:
#   - KEDA's ScaledObject and TriggerAuthentication: the CRDs in KEDA's Go module (Go module proxy);
#   - prometheus-operator's ServiceMonitor: the CRD in its Go module (Go module proxy);
#   - Strimzi's KafkaTopic and KafkaUser: generated from Strimzi's `io.strimzi:api` jar by Strimzi's
#     own `io.strimzi:crd-generator` (Maven Central), with the arguments of Strimzi's api/pom.xml.
#     The api jar ships no CRD files; Strimzi builds them this way. The generator needs Java 21+.
# Run by hand when moving to other versions (then rename the folders); not part of CI.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
keda=2.21.0 prometheus_operator=0.85.0 strimzi=1.2.0
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

export GOMODCACHE="$work/mod" GOFLAGS=-modcacherw
go mod download github.com/kedacore/keda/v2@v$keda github.com/prometheus-operator/prometheus-operator@v$prometheus_operator
mkdir -p "$here/keda-$keda" "$here/prometheus-operator-$prometheus_operator" "$here/strimzi-$strimzi"
for crd in keda.sh_scaledobjects.yaml keda.sh_triggerauthentications.yaml; do
  cp "$GOMODCACHE/github.com/kedacore/keda/v2@v$keda/config/crd/bases/$crd" "$here/keda-$keda/"
done
cp "$GOMODCACHE/github.com/prometheus-operator/prometheus-operator@v$prometheus_operator/example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml" \
  "$here/prometheus-operator-$prometheus_operator/"

cat > "$work/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local</groupId><artifactId>strimzi-crds</artifactId><version>1</version>
  <dependencies>
    <dependency><groupId>io.strimzi</groupId><artifactId>api</artifactId><version>$strimzi</version></dependency>
    <dependency><groupId>io.strimzi</groupId><artifactId>crd-generator</artifactId><version>$strimzi</version></dependency>
  </dependencies>
</project>
POM
(cd "$work" && mvn -q -B dependency:build-classpath -Dmdep.outputFile=classpath.txt)
java="${JAVA21:-$(ls -d /usr/lib/jvm/temurin-2[1-9]* /usr/lib/jvm/*-2[1-9]-* 2>/dev/null | head -1)/bin/java}"
"$java" -cp "$(cat "$work/classpath.txt")" io.strimzi.crdgenerator.CrdGenerator \
  --label app:strimzi --label strimzi.io/crd-install:true --target-kube 1.16+ \
  --crd-api-version v1 --api-versions v1 --storage-version v1 --yaml \
  "io.strimzi.api.kafka.model.topic.KafkaTopic=$here/strimzi-$strimzi/043-Crd-kafkatopic.yaml" \
  "io.strimzi.api.kafka.model.user.KafkaUser=$here/strimzi-$strimzi/044-Crd-kafkauser.yaml"
echo "vendored into $here"
