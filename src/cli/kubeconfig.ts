/** The kubeconfig `sluice up` writes, so kubectl and client libraries reach its API server. */
import fs from 'node:fs';
import { parse, stringify } from 'yaml';
import { SluiceError } from '../lib/errors.ts';

export const KubeconfigErrors = {
  /** A kubeconfig file exists but cannot be read or is not a kubeconfig. */
  Read: 'SLUICE_E_KUBECONFIG_READ',
} as const;

export interface KubeconfigOptions {
  server: string;
  /** Bearer token for the user entry (kubectl sends it only to https:// servers). */
  token?: string;
  namespace?: string;
  /** PEM of the CA that signed the server's certificate (https servers). */
  caPem?: string;
  /** Name to verify the server certificate against when the server is addressed by IP. */
  tlsServerName?: string;
}

export const KUBECONFIG_CONTEXT = 'sluice';

export function renderKubeconfig(o: KubeconfigOptions): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    preferences: {},
        // @kubernetes/client-node refuses plain-HTTP servers unless TLS verification is marked off;
    // kubectl ignores the flag for http:// servers.
    clusters: [{ name: 'sluice', cluster: clusterEntry(o) }],
    users: [{ name: 'sluice', user: o.token ? { token: o.token } : {} }],
    contexts: [{ name: KUBECONFIG_CONTEXT, context: { cluster: 'sluice', user: 'sluice', namespace: o.namespace ?? 'default' } }],
    'current-context': KUBECONFIG_CONTEXT,
  });
}

function clusterEntry(o: KubeconfigOptions): Record<string, unknown> {
  if (o.server.startsWith('http://')) return { server: o.server, 'insecure-skip-tls-verify': true };
  return {
    server: o.server,
    ...(o.caPem ? { 'certificate-authority-data': Buffer.from(o.caPem).toString('base64') } : {}),
    ...(o.tlsServerName ? { 'tls-server-name': o.tlsServerName } : {}),
  };
}

interface KubeconfigDoc {
  'current-context'?: string;
  contexts?: { name?: string; context?: { user?: string; cluster?: string } }[];
  users?: { name?: string; user?: { token?: string } }[];
  clusters?: { name?: string; cluster?: { server?: string; 'certificate-authority-data'?: string; 'tls-server-name'?: string } }[];
}

/**
 * The server and bearer token of a kubeconfig's current context (what kubectl would use), or
 * undefined when the file does not exist. Only token users are understood: sluice issues bearer
 * tokens, never client certificates.
 */
export interface KubeconfigContext {
  server?: string;
  token?: string;
  /** PEM of certificate-authority-data. */
  caPem?: string;
  tlsServerName?: string;
}

export function readKubeconfig(file: string): KubeconfigContext | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new SluiceError(KubeconfigErrors.Read, `cannot read kubeconfig ${file}: ${(e as Error).message}`, { cause: e });
  }
  let doc: KubeconfigDoc;
  try {
    doc = (parse(text) ?? {}) as KubeconfigDoc;
  } catch (e) {
    throw new SluiceError(KubeconfigErrors.Read, `kubeconfig ${file} is not valid YAML: ${(e as Error).message}`, { cause: e });
  }
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new SluiceError(KubeconfigErrors.Read, `kubeconfig ${file} is not a mapping`);
  const ctx = doc.contexts?.find((c) => c?.name === doc['current-context'])?.context;
  if (!ctx) return {};
  const token = doc.users?.find((u) => u?.name === ctx.user)?.user?.token;
  const cluster = doc.clusters?.find((c) => c?.name === ctx.cluster)?.cluster;
  const caData = cluster?.['certificate-authority-data'];
  return {
    ...(cluster?.server ? { server: cluster.server } : {}),
    ...(token ? { token } : {}),
    ...(caData ? { caPem: Buffer.from(caData, 'base64').toString('utf8') } : {}),
    ...(cluster?.['tls-server-name'] ? { tlsServerName: cluster['tls-server-name'] } : {}),
  };
}
