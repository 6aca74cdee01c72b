{{/*
Names. The fullname is the release name when it already contains the chart
name ("participant-service" → "participant-service"), else
"<release>-participant-service"; truncated to 63 characters (DNS label).
*/}}
{{- define "participant-service.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "participant-service.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "participant-service.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every object: the non-identifying ones, then name and instance. */}}
{{- define "participant-service.commonLabels" -}}
helm.sh/chart: {{ include "participant-service.chart" . }}
app.kubernetes.io/version: {{ include "participant-service.versionLabel" . | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: telegive
{{- end }}

{{- define "participant-service.labels" -}}
{{ include "participant-service.commonLabels" . }}
app.kubernetes.io/name: {{ include "participant-service.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Selector of the API pods. The component keeps the migration Job's pods out
of the Service, the PDB and the NetworkPolicy. Immutable once installed
(Deployment selector): do not change.
*/}}
{{- define "participant-service.selectorLabels" -}}
app.kubernetes.io/name: {{ include "participant-service.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: api
{{- end }}

{{- define "participant-service.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "participant-service.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The image tag: image.tag, else the chart's appVersion. */}}
{{- define "participant-service.imageTag" -}}
{{- default .Chart.AppVersion .Values.image.tag }}
{{- end }}

{{/*
The image tag as a label value: a tag such as "v1.2.3@sha256:…" (skaffold)
holds characters a label cannot, so keep the part before "@" and replace
anything else that is not allowed.
*/}}
{{- define "participant-service.versionLabel" -}}
{{- $tag := regexReplaceAll "@.*$" (include "participant-service.imageTag" .) "" }}
{{- regexReplaceAll "[^A-Za-z0-9._-]" $tag "_" | trunc 63 | trimAll "_.-" }}
{{- end }}

{{/* repository@digest when a digest is given (immutable), else repository:tag. */}}
{{- define "participant-service.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (include "participant-service.imageTag" .) }}
{{- end }}
{{- end }}

{{- define "participant-service.secretName" -}}
{{- default (include "participant-service.fullname" .) .Values.secrets.name }}
{{- end }}

{{- define "participant-service.tokensSecretName" -}}
{{- default (printf "%s-tokens" (include "participant-service.fullname" .)) .Values.serviceTokens.secretName }}
{{- end }}

{{/* The Prometheus job label every alert and the ServiceMonitor use. */}}
{{- define "participant-service.metricsJob" -}}
{{- default (include "participant-service.fullname" .) .Values.metrics.job }}
{{- end }}

{{/*
Annotations that make a chart-created (dev-only) Secret exist before the
migration hook Job that reads it: plain release objects are created only
after pre-install hooks have run.
*/}}
{{- define "participant-service.secretHookAnnotations" -}}
{{- if .Values.migrations.enabled }}
helm.sh/hook: pre-install,pre-upgrade
helm.sh/hook-weight: "-10"
helm.sh/hook-delete-policy: before-hook-creation
{{- end }}
{{- end }}

{{/*
Environment shared by the service and the migration Job: the chart-managed
variables and every secret, from secretKeyRef. DATABASE_URL is required;
the other keys are optional so a Secret without them still starts the pod.
Called with (dict "root" $ "job" bool): the migration Job (job true) takes
DATABASE_URL from migrations.databaseUrlFrom first, then like the pods from
secrets.databaseUrlFrom, then from the release's Secret.
*/}}
{{- define "participant-service.secretEnv" -}}
{{- $root := .root -}}
{{- $secret := include "participant-service.secretName" $root -}}
{{- $pods := $root.Values.secrets.databaseUrlFrom | default dict -}}
{{- $job := ternary ($root.Values.migrations.databaseUrlFrom | default dict) dict .job -}}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ coalesce $job.name $pods.name $secret }}
      key: {{ coalesce $job.key $pods.key $root.Values.secrets.keys.databaseUrl }}
{{- if not .job }}
{{- /*
DATABASE_READ_URL, the pods' alone (migrations are the primary's): from
secrets.databaseReadUrlFrom, then required, else from the release's
Secret, optional.
*/}}
{{- $read := $root.Values.secrets.databaseReadUrlFrom | default dict }}
- name: DATABASE_READ_URL
  valueFrom:
    secretKeyRef:
      name: {{ coalesce $read.name $secret }}
      key: {{ coalesce $read.key $root.Values.secrets.keys.databaseReadUrl }}
      {{- if not (or $read.name $read.key) }}
      optional: true
      {{- end }}
{{- end }}
- name: REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ $root.Values.secrets.keys.redisUrl }}
      optional: true
- name: AUTH_SERVICE_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ $root.Values.secrets.keys.authServiceToken }}
      optional: true
- name: SERVICE_TO_SERVICE_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ $root.Values.secrets.keys.serviceToServiceSecret }}
      optional: true
- name: LOG_SIGNING_KEY
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ $root.Values.secrets.keys.logSigningKey }}
      optional: true
{{- end }}

{{/*
The witnesses of the draw log (drawLog) as the variables the service reads,
one "NAME: value" line each; nothing without witnesses.
*/}}
{{- define "participant-service.witnessVars" -}}
{{- with .Values.drawLog.witnesses }}
{{- $urls := list }}{{- $keys := list }}
{{- range . }}{{ $urls = append $urls .url }}{{ $keys = append $keys .verifierKey }}{{ end }}
WITNESS_URLS: {{ join "," $urls | quote }}
WITNESS_KEYS: {{ join "," $keys | quote }}
{{- end }}
{{- with $.Values.drawLog.quorum }}
WITNESS_QUORUM: {{ include "participant-service.envValue" . | quote }}
{{- end }}
{{- end }}

{{/*
A config value as an environment string. Helm reads numbers in values files
as float64, and toString would print 1048576 as "1.048576e+06": whole
numbers are printed as integers.
*/}}
{{- define "participant-service.envValue" -}}
{{- if and (kindIs "float64" .) (eq . (floor .)) }}
{{- int64 . }}
{{- else }}
{{- toString . }}
{{- end }}
{{- end }}

{{/*
Refuses, with the reason and the value to use instead, what `config` must
not hold: secrets (config is a ConfigMap, readable by whoever may read the
namespace's ConfigMaps and kept in Helm's release history) and the
variables the chart sets itself. Here rather than in values.schema.json,
whose refusal would only say "'not' failed".
*/}}
{{- define "participant-service.checkConfig" -}}
{{- $keys := .Values.secrets.keys -}}
{{- $secret := printf "is a secret, and config renders into a ConfigMap (readable by whoever may read the namespace's ConfigMaps, and kept in Helm's release history): create a Secret (kubectl -n %s create secret generic <name> --from-literal=%%s=...) and set secrets.name=<name>; the key it is read from is secrets.keys.%%s (now %%q)" .Release.Namespace -}}
{{- $chart := "is set by the chart from %s; set that value instead" -}}
{{- $refused := dict
  "DATABASE_URL" (printf $secret "DATABASE_URL" "databaseUrl" $keys.databaseUrl)
  "REDIS_URL" (printf $secret "REDIS_URL" "redisUrl" $keys.redisUrl)
  "AUTH_SERVICE_TOKEN" (printf $secret "AUTH_SERVICE_TOKEN" "authServiceToken" $keys.authServiceToken)
  "SERVICE_TO_SERVICE_SECRET" (printf $secret "SERVICE_TO_SERVICE_SECRET" "serviceToServiceSecret" $keys.serviceToServiceSecret)
  "SERVICE_TOKENS" "is a secret: the chart mounts the callers' tokens from the Secret named by serviceTokens.secretName (one key per caller: bot, giveaway, admin; one token a line)"
  "SERVICE_TOKENS_FILE" (printf $chart "serviceTokens.mountPath, where it mounts the Secret serviceTokens.secretName (serviceTokens.enabled=false leaves tokens to you)")
  "SERVICE_PORT" (printf $chart "containerPorts.http")
  "PORT" (printf "would override SERVICE_PORT, which %s" (printf $chart "containerPorts.http"))
  "METRICS_PORT" (printf $chart "containerPorts.metrics")
  "ENABLE_METRICS" (printf $chart "metrics.enabled")
  "MIGRATE_ON_START" (printf $chart "migrations.enabled (true: the migration Job migrates before the pods roll; false: each pod migrates at start)")
  "LOG_SIGNING_KEY" (printf $secret "LOG_SIGNING_KEY" "logSigningKey" $keys.logSigningKey)
  "WITNESS_URLS" (printf $chart "drawLog.witnesses (a list of {url, verifierKey})")
  "WITNESS_KEYS" (printf $chart "drawLog.witnesses (a list of {url, verifierKey})")
  "WITNESS_QUORUM" (printf $chart "drawLog.quorum")
-}}
{{- range $name, $_ := .Values.config }}
{{- with get $refused $name }}
{{- fail (printf "config.%s: %s %s" $name $name .) }}
{{- end }}
{{- end }}
{{- end }}

{{/* The `config` map as an EnvVar list (for the Job, which cannot use the ConfigMap). */}}
{{- define "participant-service.configEnv" -}}
{{- range $k, $v := .Values.config }}
- name: {{ $k }}
  value: {{ include "participant-service.envValue" $v | quote }}
{{- end }}
{{- range $k, $v := include "participant-service.witnessVars" . | fromYaml }}
- name: {{ $k }}
  value: {{ $v | quote }}
{{- end }}
{{- end }}

{{/* Pod-level settings shared by the Deployment and the migration Job. */}}
{{- define "participant-service.podCommon" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/*
One alert rule of the PrometheusRule. Arguments (dict): root (the chart
context), name, cfg (the alert's values), expr, summary, description.
Labels: severity (and additionalLabels); annotations: summary, description,
runbook_url (<runbookBaseUrl>#<name in lower case>, a heading of
docs/runbook.md).
*/}}
{{- define "participant-service.alertRule" -}}
{{- $pr := .root.Values.metrics.prometheusRule -}}
- alert: {{ .name }}
  expr: {{ .expr | quote }}
  for: {{ .cfg.for }}
  labels:
    {{- with $pr.additionalLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
    severity: {{ .cfg.severity }}
  annotations:
    summary: {{ .summary | quote }}
    description: {{ .description | quote }}
    runbook_url: {{ printf "%s#%s" $pr.runbookBaseUrl (lower .name) | quote }}
{{- end }}

{{/*
The port kubelet probes: the metrics port, which serves the health
endpoints too and whose connections are few, so that under overload a
probe never waits behind the callers' connections at the API port's
HTTP_MAX_CONNECTIONS bound; the API port when metrics are off.
*/}}
{{- define "participant-service.probePort" -}}
{{- if .Values.metrics.enabled }}metrics{{ else }}http{{ end }}
{{- end }}
