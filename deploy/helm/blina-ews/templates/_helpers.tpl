{{/*
Names and labels.
*/}}
{{- define "blina-ews.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "blina-ews.fullname" -}}
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

{{- define "blina-ews.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "blina-ews.selectorLabels" -}}
app.kubernetes.io/name: {{ include "blina-ews.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
app.kubernetes.io/part-of is fixed: the ServiceMonitor takes the Prometheus `job` label from it,
and the alert rules match job="blina-ews" whatever the release or nameOverride.
*/}}
{{- define "blina-ews.labels" -}}
helm.sh/chart: {{ include "blina-ews.chart" . }}
{{ include "blina-ews.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | trunc 63 | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: worker
app.kubernetes.io/part-of: blina-ews
{{- end }}

{{- define "blina-ews.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "blina-ews.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "blina-ews.image" -}}
{{- $tag := .Values.image.tag | default .Chart.AppVersion }}
{{- if .Values.image.digest }}
{{- printf "%s:%s@%s" .Values.image.repository $tag .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{/*
Secrets whose setting is itself a file path (EWS_<NAME>); every other secret is passed as
EWS_<NAME>_FILE, which the service reads into the secret value.
*/}}
{{- define "blina-ews.pathSecrets" -}}
ssl_cafile ssl_certfile ssl_keyfile
{{- end }}

{{- define "blina-ews.secretsDir" -}}
/etc/ews/secrets
{{- end }}

{{/*
A config value as an environment variable string. Helm reads every YAML number as float64,
which prints 1048576 as 1.048576e+06: whole numbers are printed as integers.
*/}}
{{- define "blina-ews.envValue" -}}
{{- $v := . }}
{{- if and (kindIs "float64" $v) (eq $v (floor $v)) }}
{{- printf "%d" (int64 $v) }}
{{- else }}
{{- toString $v }}
{{- end }}
{{- end }}

{{/*
Checks the schema cannot express. Each fails the render with the fix in the message.
*/}}
{{- define "blina-ews.validate" -}}
{{- $c := .Values.config }}
{{- $s := .Values.secrets }}
{{- if and (not (kindIs "invalid" $c.topic_partitions)) (gt (int .Values.replicaCount) (int $c.topic_partitions)) }}
{{- fail (printf "replicaCount (%d) > config.topic_partitions (%d): a consumer group uses at most one worker per partition. Lower replicaCount or raise the partitions." (int .Values.replicaCount) (int $c.topic_partitions)) }}
{{- end }}
{{- $protocol := $c.security_protocol | default "PLAINTEXT" }}
{{- if hasPrefix "SASL_" $protocol }}
{{- if not $c.sasl_username }}
{{- fail (printf "config.security_protocol=%s needs config.sasl_username." $protocol) }}
{{- end }}
{{- if not $s.sasl_password.existingSecret }}
{{- fail (printf "config.security_protocol=%s needs secrets.sasl_password.existingSecret (the password is never inlined)." $protocol) }}
{{- end }}
{{- end }}
{{- if not (hasSuffix "SSL" $protocol) }}
{{- range $name := splitList " " (include "blina-ews.pathSecrets" $) }}
{{- if (index $s $name).existingSecret }}
{{- fail (printf "secrets.%s is set but config.security_protocol=%s does not use TLS: use SSL or SASL_SSL." $name $protocol) }}
{{- end }}
{{- end }}
{{- end }}
{{- if ne (empty $s.ssl_certfile.existingSecret) (empty $s.ssl_keyfile.existingSecret) }}
{{- fail "secrets.ssl_certfile and secrets.ssl_keyfile go together (mutual TLS needs both)." }}
{{- end }}
{{- end }}
