{{/* NetworkPolicy building blocks. A peer that is a component of this release. */}}
{{- define "cryptex.np.component" -}}
podSelector:
  matchLabels:
    {{- include "cryptex.selectorLabels" . | nindent 4 }}
{{- end -}}

{{/* Egress to the ledger's Redis (in the release, or anywhere on 6379 when external). */}}
{{- define "cryptex.np.redisEgress" -}}
- ports:
    - {port: 6379, protocol: TCP}
  {{- if .Values.redis.enabled }}
  to:
    - {{ include "cryptex.np.component" (dict "root" . "component" "redis") | nindent 6 | trim }}
  {{- end }}
{{- end -}}

{{/* Egress to PostgreSQL (in the release, or anywhere on 5432 when external). */}}
{{- define "cryptex.np.databaseEgress" -}}
- ports:
    - {port: 5432, protocol: TCP}
  {{- if .Values.timescaledb.enabled }}
  to:
    - {{ include "cryptex.np.component" (dict "root" . "component" "timescaledb") | nindent 6 | trim }}
  {{- end }}
{{- end -}}

{{/* Egress to the Kubernetes API server. */}}
{{- define "cryptex.np.kubeApiEgress" -}}
{{- $api := .Values.networkPolicy.kubeApiServer -}}
- ports:
    {{- range $api.ports }}
    - {port: {{ . }}, protocol: TCP}
    {{- end }}
  to:
    {{- range $api.cidrs }}
    - ipBlock: {cidr: {{ . }}}
    {{- end }}
{{- end -}}

{{/* Ingress from Prometheus to `port`. (dict "root" $ "port" 9102) */}}
{{- define "cryptex.np.prometheusIngress" -}}
- ports:
    - {port: {{ .port }}, protocol: TCP}
  from:
    - {{ toYaml .root.Values.networkPolicy.prometheusPeer | nindent 6 | trim }}
{{- end -}}

{{/* A policy's metadata. (dict "root" $ "component" "api") */}}
{{- define "cryptex.np.metadata" -}}
metadata:
  name: {{ include "cryptex.componentName" . }}
  namespace: {{ .root.Release.Namespace }}
  labels:
    {{- include "cryptex.labels" . | nindent 4 }}
{{- end -}}
