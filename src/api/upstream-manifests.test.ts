/**
 * Manifests as Knative's and Istio's documentation write them, and sluice's own examples, must be
 * admitted under fieldValidation=Strict with no warning: a false rejection is the costliest bug
 * a validator can have.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { admit } from './admission.ts';
import type { KubeObject } from './meta.ts';

const upstream = `
apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: autoscale-go
  namespace: default
spec:
  template:
    metadata:
      creationTimestamp: null
      annotations:
        autoscaling.knative.dev/target: "10"
        autoscaling.knative.dev/min-scale: "1"
        autoscaling.knative.dev/max-scale: "5"
        autoscaling.knative.dev/window: "60s"
        autoscaling.knative.dev/scale-down-delay: "15m"
        autoscaling.knative.dev/initial-scale: "2"
    spec:
      containerConcurrency: 50
      timeoutSeconds: 120
      containers:
        - image: ghcr.io/knative/autoscale-go:latest
          ports:
            - containerPort: 8080
              name: h2c
          env:
            - name: TARGET
              value: Go Sample v1
          resources:
            limits:
              cpu: "1"
              memory: 256Mi
            requests:
              cpu: 100m
          readinessProbe:
            httpGet:
              path: /healthz
            periodSeconds: 1
            failureThreshold: 3
---
apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: hello
spec:
  template:
    metadata:
      name: hello-world
    spec:
      containers:
        - image: ghcr.io/knative/helloworld-go:latest
          env:
            - name: TARGET
              value: "World"
  traffic:
    - latestRevision: true
      percent: 50
    - latestRevision: false
      percent: 50
      revisionName: hello-00001
      tag: old
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts:
  - reviews
  http:
  - name: jason
    match:
    - headers:
        end-user:
          exact: jason
    route:
    - destination:
        host: reviews
        subset: v2
  - route:
    - destination:
        host: reviews
        subset: v1
      weight: 75
    - destination:
        host: reviews
        subset: v3
      weight: 25
    timeout: 10s
    retries:
      attempts: 3
      perTryTimeout: 2s
      retryOn: gateway-error,connect-failure,refused-stream
    fault:
      delay:
        percentage:
          value: 0.1
        fixedDelay: 5s
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: reviews-destination
spec:
  host: reviews.prod.svc.cluster.local
  trafficPolicy:
    loadBalancer:
      simple: LEAST_REQUEST
    connectionPool:
      tcp:
        maxConnections: 100
        connectTimeout: 30ms
        tcpKeepalive:
          time: 7200s
          interval: 75s
      http:
        http2MaxRequests: 1000
        maxRequestsPerConnection: 10
        idleTimeout: 30s
    outlierDetection:
      consecutive5xxErrors: 7
      interval: 5m
      baseEjectionTime: 15m
      maxEjectionPercent: 10
  subsets:
  - name: v1
    labels:
      version: v1
  - name: v2
    labels:
      version: v2
    trafficPolicy:
      loadBalancer:
        consistentHash:
          httpCookie:
            name: user
            ttl: 0s
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: my-gateway
  namespace: some-config-namespace
spec:
  selector:
    app: my-gateway-controller
  servers:
  - port:
      number: 80
      name: http
      protocol: HTTP
    hosts:
    - uk.bookinfo.com
    tls:
      httpsRedirect: true
  - port:
      number: 443
      name: https-443
      protocol: HTTPS
    hosts:
    - uk.bookinfo.com
    tls:
      mode: SIMPLE
      credentialName: bookinfo-secret
      minProtocolVersion: TLSV1_2
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata:
  name: default
  namespace: prod-us1
spec:
  egress:
  - hosts:
    - "prod-us1/*"
    - "istio-system/*"
  outboundTrafficPolicy:
    mode: REGISTRY_ONLY
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata:
  name: default
  namespace: foo
spec:
  selector:
    matchLabels:
      app: finance
  mtls:
    mode: STRICT
  portLevelMtls:
    8080:
      mode: DISABLE
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: httpbin
  namespace: foo
spec:
  selector:
    matchLabels:
      app: httpbin
      version: v1
  action: ALLOW
  rules:
  - from:
    - source:
        principals: ["cluster.local/ns/default/sa/sleep"]
    - source:
        namespaces: ["dev"]
    to:
    - operation:
        methods: ["GET"]
        paths: ["/info*"]
        ports: ["8080"]
    when:
    - key: request.auth.claims[iss]
      values: ["https://accounts.google.com"]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: deny-all
spec: {}
---
apiVersion: v1
kind: Secret
metadata:
  name: bookinfo-secret
type: kubernetes.io/tls
data:
  tls.crt: LS0tLS1CRUdJTg==
  tls.key: LS0tLS1CRUdJTg==
---
apiVersion: v1
kind: Namespace
metadata:
  name: team-a
  labels:
    istio-injection: enabled
---
apiVersion: serving.knative.dev/v1beta1
kind: DomainMapping
metadata:
  name: example.org
  namespace: default
spec:
  ref:
    name: helloworld-go
    kind: Service
    apiVersion: serving.knative.dev/v1
  tls:
    secretName: example-org-tls
`;

function docs(text: string, source: string): KubeObject[] {
  return parseAllDocuments(text).map((d, i) => {
    assert.equal(d.errors.length, 0, `${source} document ${i}: ${d.errors.map((e) => e.message).join('; ')}`);
    return d.toJSON() as KubeObject;
  }).filter((o) => o !== null);
}

function admitClean(obj: KubeObject, source: string): void {
  const label = `${source}: ${obj.kind} ${obj.metadata?.name}`;
  const r = admit(obj, { operation: 'CREATE', fieldValidation: 'Strict', expect: { apiVersion: obj.apiVersion, kind: obj.kind } });
  assert.ok(r.ok, `${label}: ${r.ok ? '' : r.status.message}`);
  if (r.ok) assert.deepEqual(r.warnings, [], label);
}

test('Knative and Istio documentation manifests are admitted under Strict', () => {
  const objs = docs(upstream, 'upstream');
  assert.equal(objs.length, 12);
  for (const o of objs) admitClean(o, 'upstream');
});

test('every manifest under examples/ is admitted under Strict', () => {
  const dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../examples');
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'));
  assert.ok(files.length > 0);
  for (const f of files) {
    for (const o of docs(fs.readFileSync(path.join(dir, f), 'utf8'), f)) {
      if (o.apiVersion && o.kind) admitClean(o, f);
    }
  }
});
