{{/* Names, labels and the facts about each program the templates share. */}}

{{- define "dealercare.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "dealercare.fullname" -}}
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

{{- define "dealercare.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* dealercare.componentName: <fullname>-<component>; call with (dict "root" $ "name" "customer"). */}}
{{- define "dealercare.componentName" -}}
{{- printf "%s-%s" (include "dealercare.fullname" .root) .name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "dealercare.labels" -}}
helm.sh/chart: {{ include "dealercare.chart" .root }}
{{ include "dealercare.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: dealercare
{{- end -}}

{{- define "dealercare.selectorLabels" -}}
app.kubernetes.io/name: {{ include "dealercare.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{/* Labels of every pod of the release, whatever its component. */}}
{{- define "dealercare.releaseSelector" -}}
app.kubernetes.io/name: {{ include "dealercare.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/*
The programs, as their code has them (the drift test checks the chart
against each program's --help): kind grpc (grpc.health.v1 on port) or http
(/livez, /healthz); addrVar the listen variable; targetVar how callers name
it; schema: has `migrate`; token: reads SERVICE_TOKEN_FILE; relay: outbox
relay to Temporal; database: DATABASE_URL; auth: verifies tokens; temporal:
talks to Temporal; drain: reads SHUTDOWN_TIMEOUT (others drain in 5 s);
extraPorts: more listeners (name, port, addrVar). campaign-provider is the
recording provider, a dev/test tool (off unless a dev values file turns it on).
webhook runs the dealercare-webhooks worker (the WebhookDelivery workflow
and its activities) in its own process, so the main worker needs nothing
of it.
*/}}
{{- define "dealercare.components" -}}
customer:   {kind: grpc, port: 9101, addrVar: CUSTOMER_GRPC_ADDR, targetVar: CUSTOMER_GRPC_TARGET, schema: true, token: false, relay: true, database: true, auth: true, temporal: true, drain: true}
complaint:  {kind: grpc, port: 9103, addrVar: COMPLAINT_GRPC_ADDR, targetVar: COMPLAINT_GRPC_TARGET, schema: true, token: true, relay: true, database: true, auth: true, temporal: true, drain: true}
callback:   {kind: grpc, port: 9102, addrVar: CALLBACK_GRPC_ADDR, targetVar: CALLBACK_GRPC_TARGET, schema: true, token: true, relay: true, database: true, auth: true, temporal: true, drain: true}
evaluation: {kind: grpc, port: 9104, addrVar: EVALUATION_GRPC_ADDR, targetVar: EVALUATION_GRPC_TARGET, schema: true, token: true, relay: true, database: true, auth: true, temporal: true, drain: true}
campaign:   {kind: grpc, port: 9105, addrVar: CAMPAIGN_GRPC_ADDR, targetVar: CAMPAIGN_GRPC_TARGET, schema: true, token: true, relay: true, database: true, auth: true, temporal: true, drain: true, extraPorts: [{name: receipts, port: 9115, addrVar: CAMPAIGN_RECEIPTS_ADDR, appProtocol: http}]}
gateway:    {kind: http, port: 8080, addrVar: GATEWAY_HTTP_ADDR, schema: true, token: false, relay: false, database: true, auth: true, temporal: false, drain: true, liveness: /livez, readiness: /healthz}
worker:     {kind: http, port: 9190, addrVar: WORKER_HEALTH_ADDR, schema: false, token: true, relay: false, database: false, auth: false, temporal: true, drain: false, liveness: /livez, readiness: /healthz}
webhook:    {kind: grpc, port: 9106, addrVar: WEBHOOK_GRPC_ADDR, targetVar: WEBHOOK_GRPC_TARGET, schema: true, token: true, relay: true, database: true, auth: true, temporal: true, drain: true}
campaign-provider: {kind: http, port: 9185, addrVar: PROVIDER_HTTP_ADDR, schema: false, token: false, relay: false, database: false, auth: false, temporal: false, drain: false, liveness: /livez, readiness: /healthz, extraPorts: [{name: smtp, port: 2525, addrVar: PROVIDER_SMTP_ADDR}]}
{{- end -}}

{{/* dealercare.enabled: the enabled components' names, as a YAML list, in a fixed order. */}}
{{- define "dealercare.enabled" -}}
{{- $out := list -}}
{{- range $name := list "customer" "complaint" "callback" "evaluation" "campaign" "campaign-provider" "webhook" "gateway" "worker" -}}
{{- if (index $.Values $name).enabled -}}{{- $out = append $out $name -}}{{- end -}}
{{- end -}}
{{- toYaml $out -}}
{{- end -}}

{{- define "dealercare.image" -}}
{{- $v := .root.Values.image -}}
{{- $repo := $v.repository -}}
{{- if $v.registry -}}{{- $repo = printf "%s/%s" (trimSuffix "/" $v.registry) $v.repository -}}{{- end -}}
{{- $digest := index $v.digests .name | default "" -}}
{{- if $digest -}}
{{- printf "%s/%s@%s" $repo .name $digest -}}
{{- else -}}
{{- printf "%s/%s:%s" $repo .name (default .root.Chart.AppVersion $v.tag) -}}
{{- end -}}
{{- end -}}

{{/* The grace period a component needs: preStop, then its own drain, then 10 s. */}}
{{- define "dealercare.grace" -}}
{{- $drain := .root.Values.shutdownTimeoutSeconds -}}
{{- if not (index (include "dealercare.components" .root | fromYaml) .name).drain -}}{{- $drain = 5 -}}{{- end -}}
{{- add .root.Values.preStopSeconds $drain 10 -}}
{{- end -}}

{{/* Container security every pod template uses (PodSecurity restricted). */}}
{{- define "dealercare.containerSecurity" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Render-time checks of values that are valid one by one but not together. */}}
{{- define "dealercare.validate" -}}
{{- $facts := include "dealercare.components" . | fromYaml -}}
{{- $enabled := include "dealercare.enabled" . | fromYamlArray -}}
{{- if not $enabled -}}{{- fail "no component is enabled: set <component>.enabled=true for at least one of customer, complaint, callback, evaluation, campaign, webhook, gateway, worker" -}}{{- end -}}
{{- range $name := $enabled -}}
{{- $c := index $.Values $name -}}
{{- $f := index $facts $name -}}
{{- range $t := $c.targets -}}
{{- if not (hasKey $facts $t) -}}{{- fail (printf "%s.targets: %q is not a component" $name $t) -}}{{- end -}}
{{- if ne (index $facts $t).kind "grpc" -}}{{- fail (printf "%s.targets: %q serves no gRPC" $name $t) -}}{{- end -}}
{{- if not (index $.Values $t).enabled -}}{{- fail (printf "%s.targets names %s, which is disabled (%s.enabled=false): enable it or remove it from %s.targets" $name $t $t $name) -}}{{- end -}}
{{- end -}}
{{- if and $f.token (not $.Values.serviceToken.secretName) -}}{{- fail (printf "serviceToken.secretName is required: %s reads SERVICE_TOKEN_FILE" $name) -}}{{- end -}}
{{- if and $f.database (not (or ($c.database).secretName $.Values.database.secretName)) -}}{{- fail (printf "database.secretName (or %s.database.secretName) is required: %s reads DATABASE_URL" $name $name) -}}{{- end -}}
{{- if and $f.auth (not (and $.Values.auth.jwksURL $.Values.auth.issuer $.Values.auth.audience)) -}}{{- fail (printf "auth.jwksURL, auth.issuer and auth.audience are required: %s verifies bearer tokens" $name) -}}{{- end -}}
{{- if $c.hpa.enabled -}}
{{- if gt (int $c.hpa.minReplicas) (int $c.hpa.maxReplicas) -}}{{- fail (printf "%s.hpa.minReplicas (%v) exceeds %s.hpa.maxReplicas (%v)" $name $c.hpa.minReplicas $name $c.hpa.maxReplicas) -}}{{- end -}}
{{- if le (int $c.hpa.minReplicas) (int $c.pdb.minAvailable) -}}{{- fail (printf "%s.pdb.minAvailable (%v) must be below %s.hpa.minReplicas (%v), or no node drain can evict a pod" $name $c.pdb.minAvailable $name $c.hpa.minReplicas) -}}{{- end -}}
{{- else if and (gt (int $c.pdb.minAvailable) 0) (le (int $c.replicas) (int $c.pdb.minAvailable)) (gt (int $c.replicas) 1) -}}
{{- fail (printf "%s.pdb.minAvailable (%v) must be below %s.replicas (%v), or no node drain can evict a pod" $name $c.pdb.minAvailable $name $c.replicas) -}}
{{- end -}}
{{- end -}}
{{- $recorder := (index .Values "campaign-provider").enabled -}}
{{- if and $recorder (not .Values.campaign.enabled) -}}{{- fail "campaign-provider.enabled needs campaign.enabled: the recording provider stands in for the campaign service's channel providers" -}}{{- end -}}
{{- if .Values.campaign.enabled -}}
{{- $p := .Values.campaign.providers -}}
{{- if not $p.secretName -}}{{- fail "campaign.providers.secretName is required: the campaign service reads SMS_API_KEY, SMS_API_SECRET, WECHAT_APP_ID, WECHAT_APP_SECRET, SMTP_USERNAME, SMTP_PASSWORD and CAMPAIGN_RECEIPTS_SECRET from that Secret (campaign.providers.keys)" -}}{{- end -}}
{{- if not $recorder -}}
{{- range $k := list "smsURL" "wechatURL" "smtpAddr" -}}
{{- if not (index $p $k) -}}{{- fail (printf "campaign.providers.%s is required: where the campaign service sends (or, in dev only, campaign-provider.enabled=true for the recording provider)" $k) -}}{{- end -}}
{{- end -}}
{{- end -}}
{{- range $k := list "smsURL" "wechatURL" -}}
{{- $u := index $p $k -}}
{{- if and $u (not (regexMatch "^https?://[^/]+" $u)) -}}{{- fail (printf "campaign.providers.%s: %q is not an http(s) URL" $k $u) -}}{{- end -}}
{{- end -}}
{{- if and $p.smtpAddr (not (regexMatch "^[^:/]+:[0-9]+$" $p.smtpAddr)) -}}{{- fail (printf "campaign.providers.smtpAddr: %q is not host:port" $p.smtpAddr) -}}{{- end -}}
{{- end -}}
{{- if .Values.customer.enabled -}}
{{- $p := .Values.customer.pii -}}
{{- if not $p.secretName -}}{{- fail "customer.pii.secretName is required: the customer service encrypts ID numbers with PII_KEYS, PII_CURRENT_KEY and PII_INDEX_KEY from that Secret" -}}{{- end -}}
{{- $conns := int (default 0 ((.Values.customer.database).maxConns | default .Values.database.maxConns)) -}}
{{- $need := add (mul (int .Values.customer.import.workers) (int .Values.customer.import.writers)) 2 -}}
{{- if and (gt $conns 0) (lt $conns (int $need)) -}}{{- fail (printf "database.maxConns (%d) must be at least customer.import.workers × customer.import.writers + 2 (%d): the customer service keeps 2 connections for API calls and refuses to start otherwise" $conns $need) -}}{{- end -}}
{{- end -}}
{{- if .Values.webhook.enabled -}}
{{- $p := .Values.webhook.pii -}}
{{- if not $p.secretName -}}{{- fail "webhook.pii.secretName is required: the webhook service seals subscription secrets with PII_KEYS, PII_CURRENT_KEY and PII_INDEX_KEY from that Secret (its own keys, not the customer service's)" -}}{{- end -}}
{{- if and .Values.customer.enabled (eq $p.secretName .Values.customer.pii.secretName) -}}{{- fail (printf "webhook.pii.secretName (%q) must differ from customer.pii.secretName: the webhook service gets its own PII keys, so one leaked key set does not open both ID numbers and webhook secrets" $p.secretName) -}}{{- end -}}
{{- if hasKey .Values.webhook.extraEnv "WEBHOOK_ALLOW_LOOPBACK" -}}{{- fail "webhook.extraEnv.WEBHOOK_ALLOW_LOOPBACK is refused: it admits http://localhost endpoints (tests and local development only)" -}}{{- end -}}
{{- end -}}
{{- if and .Values.migrations.enabled (not .Values.database.migrateSecretName) -}}{{- fail "database.migrateSecretName is required while migrations.enabled: the hooks run `migrate` as the schema owner (MIGRATE_DATABASE_URL)" -}}{{- end -}}
{{- if and .Values.serviceMonitor.enabled (not .Values.otel.endpoint) -}}{{- fail "serviceMonitor.enabled needs otel.endpoint: the programs push metrics over OTLP to the collector the ServiceMonitor scrapes" -}}{{- end -}}
{{- if and .Values.serviceMonitor.enabled (not .Values.serviceMonitor.collectorSelector) -}}{{- fail "serviceMonitor.collectorSelector is required: the labels of the OTel collector's Service" -}}{{- end -}}
{{- end -}}

{{/* A NetworkPolicy peer list from podSelector/namespaceSelector/cidrs values. */}}
{{- define "dealercare.peers" -}}
{{- if or .podSelector .namespaceSelector -}}
- {{- if .podSelector }}
  podSelector:
    matchLabels: {{- toYaml .podSelector | nindent 6 }}
  {{- end }}
  {{- if .namespaceSelector }}
  namespaceSelector:
    matchLabels: {{- toYaml .namespaceSelector | nindent 6 }}
  {{- end }}
{{- end }}
{{- range .cidrs }}
- ipBlock:
    cidr: {{ . }}
{{- end }}
{{- end -}}
