/**
 * A pod's environment, as the kubelet builds it for sluice's one-machine case: a few variables
 * of the host (PATH, HOME, LANG, TZ, TMPDIR) so commands resolve, then the container's `env`
 * (`value`, or `valueFrom.fieldRef` for metadata.name, metadata.namespace, status.podIP,
 * spec.nodeName), then Knative's contract: PORT, K_SERVICE, K_CONFIGURATION, K_REVISION, and
 * HOSTNAME = pod name. Sources sluice cannot resolve (secretKeyRef, configMapKeyRef,
 * resourceFieldRef, envFrom) are refused by `envProblem` with the field path, never ignored.
 */
import type { Container } from '../api/types/core.ts';

const BASE_ENV_KEYS = ['PATH', 'HOME', 'LANG', 'TZ', 'TMPDIR'];
const FIELD_PATHS = ['metadata.name', 'metadata.namespace', 'status.podIP', 'spec.nodeName'];

/** Why the container's env cannot be built (with its field path), or undefined. */
export function envProblem(c: Container, where = 'spec.containers[0]'): string | undefined {
  if (c.envFrom && c.envFrom.length > 0) return `${where}.envFrom: not supported by sluice (no ConfigMaps; Secrets are not injected into env); list the variables under env with value`;
  for (const [i, e] of (c.env ?? []).entries()) {
    if (e.value !== undefined || e.valueFrom === undefined) continue;
    const vf = e.valueFrom as { fieldRef?: { fieldPath?: string } } & Record<string, unknown>;
    const fp = vf.fieldRef?.fieldPath;
    if (fp && FIELD_PATHS.includes(fp)) continue;
    if (fp) return `${where}.env[${i}].valueFrom.fieldRef.fieldPath: "${fp}" is not supported (supported: ${FIELD_PATHS.join(', ')})`;
    return `${where}.env[${i}].valueFrom.${Object.keys(vf)[0] ?? ''}: not supported by sluice; give the variable "${e.name}" a value`;
  }
  return undefined;
}

export interface PodEnvInput {
  container: Container;
  namespace: string;
  pod: string;
  nodeName: string;
  port: number;
  revision: string;
  configuration: string;
  service: string;
}

export function buildPodEnv(i: PodEnvInput, host: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = {};
  for (const k of BASE_ENV_KEYS) if (host[k] !== undefined) env[k] = host[k]!;
  const fields: Record<string, string> = { 'metadata.name': i.pod, 'metadata.namespace': i.namespace, 'status.podIP': '127.0.0.1', 'spec.nodeName': i.nodeName };
  for (const e of i.container.env ?? []) {
    if (e.value !== undefined) env[e.name] = e.value;
    else {
      const fp = (e.valueFrom as { fieldRef?: { fieldPath?: string } } | undefined)?.fieldRef?.fieldPath;
      if (fp && fields[fp] !== undefined) env[e.name] = fields[fp];
      else if (e.valueFrom === undefined) env[e.name] = '';
    }
  }
  Object.assign(env, {
    PORT: String(i.port),
    K_REVISION: i.revision,
    K_CONFIGURATION: i.configuration,
    K_SERVICE: i.service,
    HOSTNAME: i.pod,
  });
  return env;
}
