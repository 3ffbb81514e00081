/**
 * Kind-specific field selectors (Kubernetes' per-type field labels, e.g. `involvedObject.uid` on
 * Events, which `kubectl describe` uses). The store answers `metadata.name`/`metadata.namespace`;
 * the API server splits a selector, hands those to the store, and filters the rest here.
 */
import type { KubeObject } from '../api/meta.ts';
import type { KindInfo } from '../api/registry.ts';

/** Extra field labels per Kind, mapped to the object path they read. */
const FIELD_LABELS: Record<string, Record<string, string>> = {
  Event: {
    'involvedObject.kind': 'involvedObject.kind',
    'involvedObject.namespace': 'involvedObject.namespace',
    'involvedObject.name': 'involvedObject.name',
    'involvedObject.uid': 'involvedObject.uid',
    'involvedObject.apiVersion': 'involvedObject.apiVersion',
    'involvedObject.resourceVersion': 'involvedObject.resourceVersion',
    'involvedObject.fieldPath': 'involvedObject.fieldPath',
    reason: 'reason',
    reportingComponent: 'reportingComponent',
    source: 'source.component',
    type: 'type',
  },
  Pod: { 'spec.nodeName': 'spec.nodeName', 'spec.restartPolicy': 'spec.restartPolicy', 'status.phase': 'status.phase', 'status.podIP': 'status.podIP' },
  Secret: { type: 'type' },
  Namespace: { 'status.phase': 'status.phase' },
};

interface Requirement { path: string; neq: boolean; value: string }
export interface SplitSelector {
  /** What the store evaluates (metadata.name / metadata.namespace terms), or undefined. */
  store?: string;
  /** Kind-specific terms, evaluated by `matches`. */
  extra: Requirement[];
}

function get(obj: unknown, path: string): string {
  let cur: unknown = obj;
  for (const p of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return '';
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur === undefined || cur === null ? '' : String(cur);
}

export function splitFieldSelector(kind: KindInfo, selector: string | undefined): SplitSelector {
  if (!selector) return { extra: [] };
  const labels = FIELD_LABELS[kind.kind] ?? {};
  const storeTerms: string[] = [];
  const extra: Requirement[] = [];
  for (const raw of selector.split(',')) {
    const term = raw.trim();
    if (term === '') continue;
    const m = /^([^=!]+?)\s*(==|!=|=)\s*(.*)$/.exec(term);
    const path = m ? labels[m[1].trim()] : undefined;
    if (m && path) extra.push({ path, neq: m[2] === '!=', value: m[3].trim() });
    else storeTerms.push(term); // the store validates it (400 for an unknown field label)
  }
  return { store: storeTerms.length > 0 ? storeTerms.join(',') : undefined, extra };
}

export function matchesExtra(obj: KubeObject, extra: Requirement[]): boolean {
  for (const r of extra) {
    const v = get(obj, r.path);
    if (r.neq ? v === r.value : v !== r.value) return false;
  }
  return true;
}
