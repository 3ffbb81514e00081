/** Test helpers: translate, check every resource encodes and the set is consistent, and look things up. */
import assert from 'node:assert/strict';
import type { KubeObject } from '../../../api/meta.ts';
import { TypeUrl } from '../../../xds/protos.ts';
import { checkConsistency } from '../consistency.ts';
import { buildMeshState } from '../mesh-state.ts';
import { translateForProxy, type ProxyTranslateOptions } from '../translate.ts';
import type { MeshInput, ProxyInfo, TranslateResult } from '../types.ts';
import { assertSetEncodes } from './proto-check.ts';

export const GATEWAY: ProxyInfo = { id: 'gw', role: 'gateway' };
export const meshIn = (ns: string): ProxyInfo => ({ id: `mesh-${ns}`, role: 'mesh', namespace: ns });

export type Any = Record<string, any>;

/** Translates, asserts every resource encodes with only known fields and the set is consistent. */
export function run(input: MeshInput | KubeObject[], proxy: ProxyInfo = GATEWAY, opts: ProxyTranslateOptions = {}): TranslateResult {
  const r = translateForProxy(buildMeshState(input), proxy, opts);
  assertSetEncodes(r.resources);
  assert.deepEqual(checkConsistency(r.resources), []);
  return r;
}

export function listeners(r: TranslateResult): Any[] { return [...r.resources[TypeUrl.Listener].values()] as Any[]; }
export function clusters(r: TranslateResult): Map<string, Any> { return r.resources[TypeUrl.Cluster] as Map<string, Any>; }
export function clas(r: TranslateResult): Map<string, Any> { return r.resources[TypeUrl.ClusterLoadAssignment] as Map<string, Any>; }
export function secrets(r: TranslateResult): Map<string, Any> { return r.resources[TypeUrl.Secret] as Map<string, Any>; }
export function routeConfig(r: TranslateResult, name: string): Any {
  const rc = r.resources[TypeUrl.RouteConfiguration].get(name) as Any | undefined;
  assert.ok(rc, `no RouteConfiguration ${name}; have ${[...r.resources[TypeUrl.RouteConfiguration].keys()].join(', ')}`);
  return rc;
}
/** The virtual host answering `domain` in route config `rcName`, or undefined. */
export function vhost(r: TranslateResult, rcName: string, domain: string): Any | undefined {
  return (routeConfig(r, rcName).virtual_hosts as Any[]).find((v) => v.domains.includes(domain));
}
export function routesOf(r: TranslateResult, rcName: string, domain: string): Any[] {
  const vh = vhost(r, rcName, domain);
  assert.ok(vh, `no virtual host for ${domain} in ${rcName}`);
  return vh.routes;
}
export function problemFields(r: TranslateResult): string[] {
  return r.problems.map((p) => `${p.resource.kind}/${p.resource.name}:${p.field}`);
}
export function hasProblem(r: TranslateResult, kind: string, field: string, re?: RegExp, severity?: 'error' | 'warning'): boolean {
  return r.problems.some((p) => p.resource.kind === kind && p.field === field && (!re || re.test(p.message)) && (!severity || p.severity === severity));
}

/**
 * assert.ok with a default message: without one, node's assert re-reads the test source to
 * describe the failing expression, which can stall under the tsx loader on long files.
 */
export function ok(value: unknown, message = 'expected a truthy value'): asserts value {
  assert.ok(value, message);
}

/** Asserts no resource of the result (names and content) mentions any of `needles`. */
export function expectNoResourceMentioning(r: TranslateResult, needles: string[]): void {
  for (const [t, m] of Object.entries(r.resources)) {
    for (const [name, res] of m) {
      const text = name + JSON.stringify(res);
      for (const n of needles) assert.ok(!text.includes(n), `${t.slice(t.lastIndexOf('.') + 1)} ${name} mentions "${n}"`);
    }
  }
}
