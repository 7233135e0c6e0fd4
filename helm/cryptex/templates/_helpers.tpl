{{/* Names, labels, images, security contexts and secrets: the one place each is spelled. */}}

{{- define "cryptex.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "cryptex.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The name of a component's objects: (dict "root" $ "component" "api") */}}
{{- define "cryptex.componentName" -}}
{{- printf "%s-%s" (include "cryptex.fullname" .root) .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Selector labels: never change once installed. (dict "root" $ "component" "api") */}}
{{- define "cryptex.selectorLabels" -}}
app.kubernetes.io/name: {{ printf "cryptex-%s" .component }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end -}}

{{/* Every object's labels. (dict "root" $ "component" "api") */}}
{{- define "cryptex.labels" -}}
{{ include "cryptex.selectorLabels" . }}
app.kubernetes.io/component: {{ .component }}
app.kubernetes.io/part-of: cryptex
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* A Cryptex image reference. (dict "root" $ "image" .Values.api.image) */}}
{{- define "cryptex.image" -}}
{{- $global := .root.Values.global.image -}}
{{- $tag := .image.tag | default $global.tag | default .root.Chart.AppVersion -}}
{{- if $global.registry -}}
{{- printf "%s/%s:%s" $global.registry .image.repository $tag -}}
{{- else -}}
{{- printf "%s:%s" .image.repository $tag -}}
{{- end -}}
{{- end -}}

{{/* A third-party image reference: {repository, tag} */}}
{{- define "cryptex.thirdPartyImage" -}}
{{- printf "%s:%s" .repository .tag -}}
{{- end -}}

{{/* The pod security context of a Cryptex pod (restricted Pod Security Standard). */}}
{{- define "cryptex.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.global.runAsUser }}
runAsGroup: {{ .Values.global.runAsUser }}
fsGroup: {{ .Values.global.runAsUser }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* The pod security context of a third-party pod running as `uid`. */}}
{{- define "cryptex.podSecurityContextAs" -}}
runAsNonRoot: true
runAsUser: {{ . }}
runAsGroup: {{ . }}
fsGroup: {{ . }}
fsGroupChangePolicy: OnRootMismatch
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Every container's security context: nothing to escalate to, nothing to write but volumes. */}}
{{- define "cryptex.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Pod-spec fields every Cryptex pod shares. */}}
{{- define "cryptex.podDefaults" -}}
enableServiceLinks: false
{{- with .Values.global.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* Scheduling fields of a component's values: nodeSelector, tolerations, affinity. */}}
{{- define "cryptex.scheduling" -}}
{{- with .nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* A Secret's value that stays the same across upgrades: the stored one, else the given one,
     else a random one. (dict "root" $ "name" secret "key" key "value" given "length" n) */}}
{{- define "cryptex.secretValue" -}}
{{- $existing := lookup "v1" "Secret" .root.Release.Namespace .name | default dict -}}
{{- $stored := dig "data" .key "" $existing -}}
{{- if .value -}}
{{- .value -}}
{{- else if $stored -}}
{{- $stored | b64dec -}}
{{- else -}}
{{- randAlphaNum (int .length) -}}
{{- end -}}
{{- end -}}

{{- define "cryptex.authSecretName" -}}
{{- .Values.auth.existingSecret | default (include "cryptex.componentName" (dict "root" . "component" "auth")) -}}
{{- end -}}

{{/* The Secret and key of the Redis URL. */}}
{{- define "cryptex.redisSecretName" -}}
{{- if .Values.redis.enabled -}}
{{- include "cryptex.componentName" (dict "root" . "component" "redis") -}}
{{- else -}}
{{- .Values.externalRedis.existingSecret | default (include "cryptex.componentName" (dict "root" . "component" "redis-external")) -}}
{{- end -}}
{{- end -}}

{{- define "cryptex.redisSecretKey" -}}
{{- if and (not .Values.redis.enabled) .Values.externalRedis.existingSecret -}}
{{- .Values.externalRedis.existingSecretKey -}}
{{- else -}}
url
{{- end -}}
{{- end -}}

{{/* The Secret and key of the PostgreSQL URL. */}}
{{- define "cryptex.databaseSecretName" -}}
{{- if .Values.timescaledb.enabled -}}
{{- include "cryptex.componentName" (dict "root" . "component" "timescaledb") -}}
{{- else -}}
{{- .Values.externalDatabase.existingSecret | default (include "cryptex.componentName" (dict "root" . "component" "database-external")) -}}
{{- end -}}
{{- end -}}

{{- define "cryptex.databaseSecretKey" -}}
{{- if and (not .Values.timescaledb.enabled) .Values.externalDatabase.existingSecret -}}
{{- .Values.externalDatabase.existingSecretKey -}}
{{- else -}}
url
{{- end -}}
{{- end -}}

{{/* Environment every Cryptex server gets: its Redis, its log level. */}}
{{- define "cryptex.commonEnv" -}}
- name: CRYPTEX_REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "cryptex.redisSecretName" . }}
      key: {{ include "cryptex.redisSecretKey" . }}
- name: CRYPTEX_LOG_LEVEL
  value: {{ .Values.global.logLevel | quote }}
{{- end -}}

{{- define "cryptex.databaseEnv" -}}
- name: CRYPTEX_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "cryptex.databaseSecretName" . }}
      key: {{ include "cryptex.databaseSecretKey" . }}
{{- end -}}

{{- define "cryptex.jwtEnv" -}}
- name: CRYPTEX_JWT_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ include "cryptex.authSecretName" . }}
      key: jwt-secret
{{- end -}}

{{/* A component's extra environment from a map of NAME: value. */}}
{{- define "cryptex.extraEnv" -}}
{{- range $name, $value := . }}
- name: {{ $name }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- end -}}

{{/* /tmp, the one writable path of a read-only root filesystem. */}}
{{- define "cryptex.tmpVolume" -}}
- name: tmp
  emptyDir:
    sizeLimit: 64Mi
{{- end -}}

{{- define "cryptex.tmpMount" -}}
- name: tmp
  mountPath: /tmp
{{- end -}}

{{/* A market's symbol from its resource name: sol-usdc -> SOL_USDC */}}
{{- define "cryptex.symbol" -}}
{{- . | upper | replace "-" "_" -}}
{{- end -}}

{{/* The namespaces the operator watches. */}}
{{- define "cryptex.watchNamespaces" -}}
{{- if .Values.operator.watchNamespaces -}}
{{- join "," .Values.operator.watchNamespaces -}}
{{- else -}}
{{- .Release.Namespace -}}
{{- end -}}
{{- end -}}

{{/* Labels of the monitoring objects (Prometheus's selectors). */}}
{{- define "cryptex.monitoringLabels" -}}
{{- with .Values.monitoring.labels }}
{{ toYaml . }}
{{- end }}
{{- if and (index .Values "kube-prometheus-stack" "enabled") (not (hasKey .Values.monitoring.labels "release")) }}
release: {{ .Release.Name }}
{{- end }}
{{- end -}}
