{{- define "tessera.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "tessera.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "tessera.selector" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Labels of another part's pods (jobs, PgBouncer): never matched by the server's
Service, PodDisruptionBudget or NetworkPolicy. Call with (dict "root" $ "part" "name"). */}}
{{- define "tessera.partSelector" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}-{{ .part }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end -}}

{{- define "tessera.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/* Non-root, read-only root filesystem, no privilege escalation, no capabilities. */}}
{{- define "tessera.podSecurity" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "tessera.containerSecurity" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: ["ALL"]
{{- end -}}

{{/* Configuration shared by every container: TESSERA_* values and the secret files. */}}
{{- define "tessera.env" -}}
- name: TESSERA_MASTER_KEY_FILE
  value: /run/secrets/tessera/master-key/master-key
- name: TESSERA_DATABASE_URL_FILE
  value: /run/secrets/tessera/database/url
- name: TESSERA_DATA_DIR
  value: /var/lib/tessera
{{- range $name, $value := .Values.config }}
- name: {{ $name }}
  value: {{ $value | quote }}
{{- end }}
{{- if .Values.secrets.databaseListen }}
- name: TESSERA_DATABASE_LISTEN_URL_FILE
  value: /run/secrets/tessera/database-listen/url
{{- end }}
{{- if .Values.secrets.redis }}
- name: TESSERA_REDIS_URL_FILE
  value: /run/secrets/tessera/redis/url
{{- end }}
{{- if .Values.secrets.metricsToken }}
- name: TESSERA_METRICS_TOKEN_FILE
  value: /run/secrets/tessera/metrics/token
{{- end }}
{{- if .Values.secrets.s3 }}
- name: AWS_ACCESS_KEY_ID
  valueFrom:
    secretKeyRef:
      name: {{ .Values.secrets.s3 }}
      key: access-key-id
- name: AWS_SECRET_ACCESS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ .Values.secrets.s3 }}
      key: secret-access-key
{{- end }}
{{- end -}}

{{- define "tessera.secretMounts" -}}
- name: master-key
  mountPath: /run/secrets/tessera/master-key
  readOnly: true
- name: database
  mountPath: /run/secrets/tessera/database
  readOnly: true
{{- if .Values.secrets.databaseListen }}
- name: database-listen
  mountPath: /run/secrets/tessera/database-listen
  readOnly: true
{{- end }}
{{- if .Values.secrets.redis }}
- name: redis
  mountPath: /run/secrets/tessera/redis
  readOnly: true
{{- end }}
{{- if .Values.secrets.metricsToken }}
- name: metrics-token
  mountPath: /run/secrets/tessera/metrics
  readOnly: true
{{- end }}
- name: data
  mountPath: /var/lib/tessera
- name: tmp
  mountPath: /tmp
{{- end -}}

{{- define "tessera.secretVolumes" -}}
- name: master-key
  secret:
    secretName: {{ .Values.secrets.masterKey }}
    defaultMode: 0400
- name: database
  secret:
    secretName: {{ .Values.secrets.database }}
    defaultMode: 0400
{{- if .Values.secrets.databaseListen }}
- name: database-listen
  secret:
    secretName: {{ .Values.secrets.databaseListen }}
    defaultMode: 0400
{{- end }}
{{- if .Values.secrets.redis }}
- name: redis
  secret:
    secretName: {{ .Values.secrets.redis }}
    defaultMode: 0400
{{- end }}
{{- if .Values.secrets.metricsToken }}
- name: metrics-token
  secret:
    secretName: {{ .Values.secrets.metricsToken }}
    defaultMode: 0400
{{- end }}
- name: data
  emptyDir: {}
- name: tmp
  emptyDir: {}
{{- end -}}
