{{/* dealercare.env: a component's environment, every variable one its program reads. */}}
{{- define "dealercare.env" -}}
{{- $root := .root -}}
{{- $v := $root.Values -}}
{{- $name := .name -}}
{{- $c := index $v $name -}}
{{- $f := index (include "dealercare.components" $root | fromYaml) $name -}}
{{- $facts := include "dealercare.components" $root | fromYaml -}}
- name: {{ $f.addrVar }}
  value: {{ printf ":%v" $f.port | quote }}
{{- range $f.extraPorts }}
- name: {{ .addrVar }}
  value: {{ printf ":%v" .port | quote }}
{{- end }}
- name: LOG_LEVEL
  value: {{ $v.logLevel | quote }}
{{- if $v.otel.endpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ $v.otel.endpoint | quote }}
- name: OTEL_EXPORTER_OTLP_INSECURE
  value: {{ $v.otel.insecure | quote }}
{{- end }}
{{- if $f.drain }}
- name: SHUTDOWN_TIMEOUT
  value: {{ printf "%vs" $v.shutdownTimeoutSeconds | quote }}
{{- end }}
{{- if $f.auth }}
- name: AUTH_JWKS_URL
  value: {{ $v.auth.jwksURL | quote }}
- name: AUTH_ISSUER
  value: {{ $v.auth.issuer | quote }}
- name: AUTH_AUDIENCE
  value: {{ $v.auth.audience | quote }}
- name: AUTH_LEEWAY
  value: {{ $v.auth.leeway | quote }}
{{- end }}
{{- if $f.database }}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ ($c.database).secretName | default $v.database.secretName }}
      key: {{ ($c.database).key | default $v.database.key }}
{{- range $var, $val := dict "DATABASE_MAX_CONNS" (($c.database).maxConns | default $v.database.maxConns) "DATABASE_MIN_CONNS" $v.database.minConns "DATABASE_MAX_CONN_LIFETIME" $v.database.maxConnLifetime "DATABASE_MAX_CONN_IDLE_TIME" $v.database.maxConnIdleTime "DATABASE_CONNECT_TIMEOUT" $v.database.connectTimeout }}
{{- if $val }}
- name: {{ $var }}
  value: {{ $val | quote }}
{{- end }}
{{- end }}
{{- end }}
{{- if $f.temporal }}
- name: TEMPORAL_ADDRESS
  value: {{ $v.temporal.address | quote }}
- name: TEMPORAL_NAMESPACE
  value: {{ $v.temporal.namespace | quote }}
{{- end }}
{{- if $f.relay }}
- name: OUTBOX_RELAY
  value: {{ $c.relay.enabled | quote }}
- name: OUTBOX_RELAY_CONCURRENCY
  value: {{ $c.relay.concurrency | quote }}
{{- end }}
{{- range $t := $c.targets }}
- name: {{ (index $facts $t).targetVar }}
  value: {{ printf "%s:%v" (include "dealercare.componentName" (dict "root" $root "name" $t)) (index $facts $t).port | quote }}
{{- end }}
{{- if $f.token }}
- name: SERVICE_TOKEN_FILE
  value: /var/run/secrets/dealercare/service-token/token
{{- end }}
{{- if or (eq $name "customer") (eq $name "webhook") }}
{{- /* Each service's own PII keys (<component>.pii): one existing Secret. */}}
{{- $p := $c.pii }}
{{- range $var, $key := dict "PII_KEYS" $p.keysKey "PII_CURRENT_KEY" $p.currentKeyKey "PII_INDEX_KEY" $p.indexKeyKey }}
- name: {{ $var }}
  valueFrom:
    secretKeyRef:
      name: {{ $p.secretName }}
      key: {{ $key }}
{{- end }}
{{- end }}
{{- if eq $name "webhook" }}
{{- $d := $c.delivery }}
{{- range $var, $val := dict "WEBHOOK_WORKER" $d.worker "WEBHOOK_ATTEMPT_TIMEOUT" $d.attemptTimeout "WEBHOOK_RETRY_INITIAL" $d.retryInitial "WEBHOOK_RETRY_MAX" $d.retryMax "WEBHOOK_RETRY_FOR" $d.retryFor "WEBHOOK_WORKFLOW_IDLE" $d.workflowIdle "WEBHOOK_ORDER_WINDOW" $d.orderWindow }}
- name: {{ $var }}
  value: {{ $val | toString | quote }}
{{- end }}
{{- end }}
{{- if eq $name "customer" }}
- name: IMPORT_BATCH_SIZE
  value: {{ $c.import.batchSize | quote }}
- name: IMPORT_WORKERS
  value: {{ $c.import.workers | quote }}
- name: IMPORT_WRITERS
  value: {{ $c.import.writers | quote }}
{{- end }}
{{- if or (eq $name "campaign") (eq $name "campaign-provider") }}
{{- /* Channel credentials: keys of one existing Secret (campaign.providers). */}}
{{- $p := $v.campaign.providers }}
{{- $optional := list "SMTP_USERNAME" "SMTP_PASSWORD" }}
{{- $vars := dict "SMS_API_KEY" $p.keys.smsAPIKey "SMS_API_SECRET" $p.keys.smsAPISecret "WECHAT_APP_ID" $p.keys.wechatAppID "WECHAT_APP_SECRET" $p.keys.wechatAppSecret "CAMPAIGN_RECEIPTS_SECRET" $p.keys.receiptsSecret }}
{{- if eq $name "campaign" }}{{- $_ := set $vars "SMTP_USERNAME" $p.keys.smtpUsername }}{{- $_ := set $vars "SMTP_PASSWORD" $p.keys.smtpPassword }}{{- end }}
{{- range $var, $key := $vars }}
- name: {{ $var }}
  valueFrom:
    secretKeyRef:
      name: {{ $p.secretName }}
      key: {{ $key }}
      {{- if has $var $optional }}
      optional: true
      {{- end }}
{{- end }}
{{- end }}
{{- if eq $name "campaign" }}
{{- $p := $c.providers }}
{{- $rec := "" }}
{{- if (index $v "campaign-provider").enabled }}{{- $rec = include "dealercare.componentName" (dict "root" $root "name" "campaign-provider") }}{{- end }}
- name: SMS_GATEWAY_URL
  value: {{ $p.smsURL | default (printf "http://%s:%v" $rec (index $facts "campaign-provider").port) | quote }}
- name: SMS_SIGN_NAME
  value: {{ $p.smsSignName | quote }}
- name: WECHAT_API_URL
  value: {{ $p.wechatURL | default (printf "http://%s:%v" $rec (index $facts "campaign-provider").port) | quote }}
- name: SMTP_ADDR
  value: {{ $p.smtpAddr | default (printf "%s:%v" $rec (index (index $facts "campaign-provider").extraPorts 0).port) | quote }}
- name: SMTP_FROM
  value: {{ $p.smtpFrom | quote }}
{{- end }}
{{- if eq $name "campaign-provider" }}
{{- $receipts := first (index $facts "campaign").extraPorts }}
- name: PROVIDER_RECEIPT_URL
  value: {{ printf "http://%s:%v/v1/receipts" (include "dealercare.componentName" (dict "root" $root "name" "campaign")) $receipts.port | quote }}
- name: PROVIDER_DELAY
  value: {{ $c.delay | quote }}
{{- end }}
{{- range $var, $val := $c.extraEnv }}
- name: {{ $var }}
  value: {{ $val | toString | quote }}
{{- end }}
{{- end -}}
