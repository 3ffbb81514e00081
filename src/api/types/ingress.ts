/**
 * networking.internal.knative.dev/v1alpha1 Ingress (KIngress), with Knative's field names.
 * Written by the Route reconciler; read by the control plane, which sets its status
 * (NetworkConfigured, LoadBalancerReady, Ready) from gateway ACKs.
 */
import type { KubeObject } from '../meta.ts';
import type { Status } from './knative.ts';

export type IngressVisibility = 'ExternalIP' | 'ClusterLocal';
export interface IngressBackendSplit {
  serviceNamespace: string;
  serviceName: string; // sluice: the revision name; its endpoints are the revision's pods
  servicePort: number | string;
  percent: number;
  appendHeaders?: Record<string, string>;
}
export interface HTTPIngressPath {
  path?: string;
  headers?: Record<string, { exact: string }>;
  splits: IngressBackendSplit[];
  appendHeaders?: Record<string, string>;
  rewriteHost?: string;
}
export interface IngressRule {
  hosts: string[];
  visibility?: IngressVisibility;
  http: { paths: HTTPIngressPath[] };
}
export interface IngressTLS { hosts: string[]; secretName: string; secretNamespace: string }
export interface IngressSpec {
  rules: IngressRule[];
  tls?: IngressTLS[];
  httpOption?: 'Enabled' | 'Redirected';
}
export interface IngressStatus extends Status {
  publicLoadBalancer?: { ingress?: { domainInternal?: string; ip?: string }[] };
  privateLoadBalancer?: { ingress?: { domainInternal?: string; ip?: string }[] };
}
export type KIngress = KubeObject<IngressSpec, IngressStatus>;
