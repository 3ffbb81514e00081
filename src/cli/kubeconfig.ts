/** The kubeconfig `sluice up` writes, so kubectl and client libraries reach its API server. */
import { stringify } from 'yaml';

export interface KubeconfigOptions {
  server: string;
  /** Bearer token for the user entry (added once the API server checks tokens). */
  token?: string;
  namespace?: string;
}

export const KUBECONFIG_CONTEXT = 'sluice';

export function renderKubeconfig(o: KubeconfigOptions): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    preferences: {},
        // @kubernetes/client-node refuses plain-HTTP servers unless TLS verification is marked off;
    // kubectl ignores the flag for http:// servers.
    clusters: [{ name: 'sluice', cluster: o.server.startsWith('http://') ? { server: o.server, 'insecure-skip-tls-verify': true } : { server: o.server } }],
    users: [{ name: 'sluice', user: o.token ? { token: o.token } : {} }],
    contexts: [{ name: KUBECONFIG_CONTEXT, context: { cluster: 'sluice', user: 'sluice', namespace: o.namespace ?? 'default' } }],
    'current-context': KUBECONFIG_CONTEXT,
  });
}
