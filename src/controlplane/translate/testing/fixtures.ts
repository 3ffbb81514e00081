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

const PEM_CERT = '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ2Zk\n-----END CERTIFICATE-----\n';
const PEM_KEY = '-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEG\n-----END PRIVATE KEY-----\n';
const b64 = (s: string) => Buffer.from(s).toString('base64');

export function tlsSecret(ns: string, name: string, opts: { ca?: boolean; malformed?: boolean } = {}): Secret {
  const data: Record<string, string> = opts.malformed
    ? { 'tls.crt': b64('not a certificate'), 'tls.key': b64(PEM_KEY) }
    : { 'tls.crt': b64(PEM_CERT), 'tls.key': b64(PEM_KEY) };
  if (opts.ca) data['ca.crt'] = b64(PEM_CERT);
  return { apiVersion: 'v1', kind: 'Secret', metadata: meta(ns, name), type: 'kubernetes.io/tls', data };
}
