/** CLI output: kubectl-style resource names, tables from the server's Table answers, YAML/JSON. */
import { stringify } from 'yaml';
import type { KubeObject } from '../api/meta.ts';
import type { KindInfo } from '../api/registry.ts';

/** `service.serving.knative.dev`, `namespace`: how kubectl names a kind in its messages. */
export function resourceLabel(k: KindInfo): string {
  return k.group ? `${k.singular}.${k.group}` : k.singular;
}

export interface TableColumn { name: string; type?: string; priority?: number }
export interface TableRow { cells: unknown[]; object?: { metadata?: { namespace?: string; name?: string } } }
export interface Table { columnDefinitions: TableColumn[]; rows: TableRow[] }

function cellText(v: unknown): string {
  // kubectl prints an absent (null) cell as nothing.
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return v.map(cellText).join(',');
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** Renders rows as kubectl does: upper-case headers, columns separated by three spaces. */
export function renderColumns(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] + 3))).join('').trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}

/** Formats a meta.k8s.io Table; `wide` shows priority>0 columns; `withNamespace` adds NAMESPACE. */
export function formatTable(t: Table, o: { wide: boolean; withNamespace: boolean }): string {
  const cols = t.columnDefinitions.map((c, i) => ({ c, i })).filter(({ c }) => o.wide || !c.priority);
  const headers = cols.map(({ c }) => c.name.toUpperCase());
  const rows = t.rows.map((r) => cols.map(({ i }) => cellText(r.cells[i])));
  if (o.withNamespace) {
    headers.unshift('NAMESPACE');
    t.rows.forEach((r, i) => rows[i].unshift(r.object?.metadata?.namespace ?? ''));
  }
  return renderColumns(headers, rows);
}

/** Prints one object, or several as a `kind: List`, in YAML or JSON. */
export function formatObjects(objs: KubeObject[], single: boolean, format: 'yaml' | 'json'): string {
  const value = single ? objs[0] : { apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '' }, items: objs };
  for (const o of single ? [objs[0]] : objs) if (o?.metadata) delete o.metadata.managedFields;
  return format === 'json' ? JSON.stringify(value, null, 4) + '\n' : stringify(value);
}
