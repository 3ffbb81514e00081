/** Builders for translation test inputs (Kubernetes-shaped objects with sensible defaults). */
import type { Endpoints, Pod, Secret } from '../../../api/types/core.ts';
import type { IngressRule, IngressTLS, KIngress } from '../../../api/types/ingress.ts';
import type {
  DestinationRule, DestinationRuleSpec, Gateway, GatewaySpec, Sidecar, SidecarSpec, VirtualService, VirtualServiceSpec,
} from '../../../api/types/istio.ts';

let seq = 0;
function meta(ns: string, name: string, extra: Record<string, unknown> = {}) {
  seq++;
  return { namespace: ns, name, uid: `uid-${ns}-${name}`, creationTimestamp: `2026-01-01T00:00:${String(seq % 60).padStart(2, '0')}Z`, ...extra };
}

export function ingress(ns: string, name: string, rules: IngressRule[], extra: { tls?: IngressTLS[]; httpOption?: 'Enabled' | 'Redirected' } = {}): KIngress {
  return { apiVersion: 'networking.internal.knative.dev/v1alpha1', kind: 'Ingress', metadata: meta(ns, name), spec: { rules, ...extra } };
}

/** A Knative-style ingress for service `svc` in `ns`: a ClusterLocal rule and an ExternalIP rule, splits by revision. */
export function knativeIngress(ns: string, svc: string, splits: [string, number][], domain = 'example.com'): KIngress {
  const paths = [{ splits: splits.map(([rev, percent]) => ({ serviceNamespace: ns, serviceName: rev, servicePort: 80, percent, appendHeaders: { 'Knative-Serving-Revision': rev, 'Knative-Serving-Namespace': ns } })) }];
  return ingress(ns, svc, [
    { hosts: [`${svc}.${ns}`, `${svc}.${ns}.svc`, `${svc}.${ns}.svc.cluster.local`], visibility: 'ClusterLocal', http: { paths } },
    { hosts: [`${svc}.${ns}.${domain}`], visibility: 'ExternalIP', http: { paths } },
  ]);
}

export function endpoints(ns: string, name: string, addrs: { ip?: string; port: number; pod?: string; ready?: boolean }[]): Endpoints {
  const ready = addrs.filter((a) => a.ready !== false);
  const notReady = addrs.filter((a) => a.ready === false);
  const addr = (a: (typeof addrs)[number]) => ({ ip: a.ip ?? '127.0.0.1', ...(a.pod ? { targetRef: { kind: 'Pod', name: a.pod, namespace: ns } } : {}) });
  // One subset per distinct port (pods listen on their own ports on 127.0.0.1).
  const ports = [...new Set(addrs.map((a) => a.port))];
  return {
    apiVersion: 'v1', kind: 'Endpoints', metadata: meta(ns, name),
    subsets: ports.map((p) => ({
      addresses: ready.filter((a) => a.port === p).map(addr),
      notReadyAddresses: notReady.filter((a) => a.port === p).map(addr),
      ports: [{ name: 'http', port: p }],
    })),
  };
}

export function pod(ns: string, name: string, opts: { labels?: Record<string, string>; annotations?: Record<string, string>; port?: number } = {}): Pod {
  return {
    apiVersion: 'v1', kind: 'Pod', metadata: meta(ns, name, { labels: opts.labels ?? {}, annotations: opts.annotations ?? {} }),
    spec: { containers: [{ image: 'sluice/hello', ...(opts.port ? { ports: [{ containerPort: opts.port }] } : {}) }] },
    status: { phase: 'Running' },
  };
}

export function virtualService(ns: string, name: string, spec: VirtualServiceSpec): VirtualService {
  return { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: meta(ns, name), spec };
}
export function destinationRule(ns: string, name: string, spec: DestinationRuleSpec): DestinationRule {
  return { apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: meta(ns, name), spec };
}
export function gateway(ns: string, name: string, spec: GatewaySpec): Gateway {
  return { apiVersion: 'networking.istio.io/v1', kind: 'Gateway', metadata: meta(ns, name), spec };
}
export function sidecar(ns: string, name: string, spec: SidecarSpec): Sidecar {
  return { apiVersion: 'networking.istio.io/v1', kind: 'Sidecar', metadata: meta(ns, name), spec };
}

// Real self-signed EC P-256 certificates (openssl, valid 2026–2126), so the translation's
// parseTlsSecret checks pass; `mismatch` pairs certificate A with key B.
const PEM_CERT = `-----BEGIN CERTIFICATE-----
MIIBuzCCAWKgAwIBAgIULFFVUOaOHB3KtogaL21vY+fdHXowCgYIKoZIzj0EAwIw
ITEfMB0GA1UEAwwWZml4dHVyZS1hLmV4YW1wbGUudGVzdDAgFw0yNjExMjQxMTQy
NDZaGA8yMTI2MTAzMTExNDI0NlowITEfMB0GA1UEAwwWZml4dHVyZS1hLmV4YW1w
bGUudGVzdDBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABNB2o1r/kmr64A072Oft
Ozb0z9C1JZov8tWdcDn10f1BNmWb9rfsjC8YWmAeBKu+ABH2id09bBxSDa0nymlN
EO2jdjB0MB0GA1UdDgQWBBQIaI27jcD8xdlMDQVKMXK8L2JFFTAfBgNVHSMEGDAW
gBQIaI27jcD8xdlMDQVKMXK8L2JFFTAPBgNVHRMBAf8EBTADAQH/MCEGA1UdEQQa
MBiCFmZpeHR1cmUtYS5leGFtcGxlLnRlc3QwCgYIKoZIzj0EAwIDRwAwRAIgUGKM
DF27tp8VD1E0vWwXAAU6BoIzF1JBTB4mcETO1bICIHZTjBjEhX+zfwMnDp3n7CpO
c9zSC7KaO0It5ktdifGZ
-----END CERTIFICATE-----
`;
const PEM_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgQTs0gfga098N6hwt
3HP43Smar4vKkgL+nlr0VqpWyoahRANCAATQdqNa/5Jq+uANO9jn7Ts29M/QtSWa
L/LVnXA59dH9QTZlm/a37IwvGFpgHgSrvgAR9ondPWwcUg2tJ8ppTRDt
-----END PRIVATE KEY-----
`;
const PEM_CERT_B = `-----BEGIN CERTIFICATE-----
MIIBvTCCAWKgAwIBAgIUW3vIB/bwbmqKZ8GxZaiY746iMfQwCgYIKoZIzj0EAwIw
ITEfMB0GA1UEAwwWZml4dHVyZS1iLmV4YW1wbGUudGVzdDAgFw0yNjExMjQxMTQy
NDZaGA8yMTI2MTAzMTExNDI0NlowITEfMB0GA1UEAwwWZml4dHVyZS1iLmV4YW1w
bGUudGVzdDBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABI4TvAnCHVjjRSxRB2Fy
zaMvql0JPhzw4Xtbz39B6Pni6gqO2NBhYMSG46mq33ezzx3Bgf/TgpQToyacP1C9
/IijdjB0MB0GA1UdDgQWBBTlbzQL6opCfIwCZXwthwCMUqFGGjAfBgNVHSMEGDAW
gBTlbzQL6opCfIwCZXwthwCMUqFGGjAPBgNVHRMBAf8EBTADAQH/MCEGA1UdEQQa
MBiCFmZpeHR1cmUtYi5leGFtcGxlLnRlc3QwCgYIKoZIzj0EAwIDSQAwRgIhAJ/E
eJBzWkwU7TYRukASiJb6a9+pJzMk86XLIDLuSzDqAiEA249Hn1cgTYtjjtbsELhO
h/rccaJzQb9N8frEn/hfaJU=
-----END CERTIFICATE-----
`;
const PEM_KEY_B = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgY60zOSRuMq0ulABF
ikrChrirzMXp0hP2/UA0pVArdFKhRANCAASOE7wJwh1Y40UsUQdhcs2jL6pdCT4c
8OF7W89/Qej54uoKjtjQYWDEhuOpqt93s88dwYH/04KUE6MmnD9QvfyI
-----END PRIVATE KEY-----
`;
const b64 = (s: string) => Buffer.from(s).toString('base64');

export function tlsSecret(ns: string, name: string, opts: { ca?: boolean; malformed?: boolean; mismatch?: boolean; other?: boolean; resourceVersion?: string } = {}): Secret {
  const crt = opts.other ? PEM_CERT_B : PEM_CERT;
  const key = opts.other ? PEM_KEY_B : PEM_KEY;
  const data: Record<string, string> = opts.malformed
    ? { 'tls.crt': b64('not a certificate'), 'tls.key': b64(key) }
    : { 'tls.crt': b64(crt), 'tls.key': b64(opts.mismatch ? (opts.other ? PEM_KEY : PEM_KEY_B) : key) };
  if (opts.ca) data['ca.crt'] = b64(PEM_CERT);
  const metadata = { ...meta(ns, name), ...(opts.resourceVersion ? { resourceVersion: opts.resourceVersion } : {}) };
  return { apiVersion: 'v1', kind: 'Secret', metadata, type: 'kubernetes.io/tls', data };
}
