{{/*
The catalogue (generated from the code): contexts, groups, input topics, ACLs and topics.
*/}}
{{- define "scm.catalogue" -}}
{{- $catalogue := .Files.Get "catalogue.yaml" | fromYaml -}}
{{- if not $catalogue.contexts -}}
{{- fail "catalogue.yaml is missing or empty: run npm run k8s:catalogue" -}}
{{- end -}}
{{- toYaml $catalogue -}}
{{- end -}}

{{- define "scm.prefix" -}}
{{- .Release.Name | trunc 30 | trimSuffix "-" -}}
{{- end -}}

{{/* The resource name of one context: <release>-<context>. Call with (list $ "inventory"). */}}
{{- define "scm.contextName" -}}
{{- $root := index . 0 -}}
{{- printf "%s-%s" (include "scm.prefix" $root) (index . 1) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "scm.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: scm-platform
{{- end -}}

{{/* The pods of one context. Call with (list $ "inventory"). */}}
{{- define "scm.selectorLabels" -}}
{{- $root := index . 0 -}}
app.kubernetes.io/name: {{ $root.Chart.Name }}
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{/*
One context's settings: .Values.defaults overridden by .Values.contexts.<name>, as YAML.
Call with (list $ "inventory").
*/}}
{{- define "scm.contextValues" -}}
{{- $root := index . 0 -}}
{{- $name := index . 1 -}}
{{- $own := index ($root.Values.contexts | default dict) $name | default dict -}}
{{- $merged := mergeOverwrite (deepCopy $root.Values.defaults) (deepCopy $own) -}}
{{- if not (hasKey $merged "enabled") -}}{{- $_ := set $merged "enabled" true -}}{{- end -}}
{{- toYaml $merged -}}
{{- end -}}

{{/* A topic, group or ACL name of the catalogue as this deployment calls it. */}}
{{- define "scm.namespaced" -}}
{{- printf "%s%s" (index . 0).Values.topicNamespace (index . 1) -}}
{{- end -}}

{{/* A Kafka name as a Kubernetes object name (DNS-1123 subdomain). */}}
{{- define "scm.objectName" -}}
{{- . | lower | replace "_" "-" | trunc 253 | trimSuffix "-" | trimSuffix "." -}}
{{- end -}}

{{- define "scm.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "scm.prefix" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "scm.strimziNamespace" -}}
{{- default .Release.Namespace .Values.strimzi.namespace -}}
{{- end -}}

{{/* KEDA's name of the SASL mechanism (its kafka scaler's `sasl`). */}}
{{- define "scm.kedaSasl" -}}
{{- $mechanism := .Values.kafka.sasl.mechanism -}}
{{- if eq $mechanism "scram-sha-512" -}}scram_sha512
{{- else if eq $mechanism "scram-sha-256" -}}scram_sha256
{{- else if eq $mechanism "plain" -}}plaintext
{{- else -}}{{- fail (printf "kafka.sasl.mechanism must be scram-sha-512, scram-sha-256 or plain, got %s" $mechanism) -}}
{{- end -}}
{{- end -}}

{{/*
Checks of the values against the catalogue, once per render: no unknown context, and no
maxReplicas beyond what the partitions allow.
*/}}
{{- define "scm.validate" -}}
{{- $catalogue := include "scm.catalogue" . | fromYaml -}}
{{- $known := list -}}
{{- range $catalogue.contexts -}}{{- $known = append $known .name -}}{{- end -}}
{{- range $name, $_ := .Values.contexts -}}
{{- if not (has $name $known) -}}
{{- fail (printf "contexts.%s: no such context (the catalogue has %s)" $name (join ", " $known)) -}}
{{- end -}}
{{- end -}}
{{- range $context := $catalogue.contexts -}}
{{- $values := include "scm.contextValues" (list $ $context.name) | fromYaml -}}
{{- if and (hasKey $values "maxReplicas") (gt (int $values.maxReplicas) (int $context.maxReplicas)) -}}
{{- fail (printf "contexts.%s.maxReplicas is %d, but its consumer group %s can share at most %d partitions" $context.name (int $values.maxReplicas) $context.group (int $context.maxReplicas)) -}}
{{- end -}}
{{- end -}}
{{- if and .Values.autoscaling.keda.enabled (lt (int .Values.autoscaling.keda.lagThreshold) 1) -}}
{{- fail "autoscaling.keda.lagThreshold must be at least 1" -}}
{{- end -}}
{{- end -}}
