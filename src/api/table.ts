/**
 * meta.k8s.io/v1 Table output (what `kubectl get` asks for with
 * `Accept: application/json;as=Table;v=v1;g=meta.k8s.io`): column definitions and one row per
 * object, each row carrying the object in full, as PartialObjectMetadata, or not at all.
 * The caller sets metadata.resourceVersion / continue from its list.
 */
import type { KubeObject, ObjectMeta } from './meta.ts';
import type { KindInfo } from './registry.ts';
import { columnsFor, type Cell, type ColumnDefinition } from './table-columns.ts';

export type IncludeObject = 'None' | 'Object' | 'Metadata';

export interface TableRow {
  cells: Cell[];
  object?: KubeObject | { kind: 'PartialObjectMetadata'; apiVersion: 'meta.k8s.io/v1'; metadata: ObjectMeta };
}
export interface Table {
  kind: 'Table';
  apiVersion: 'meta.k8s.io/v1';
  metadata: { resourceVersion?: string; continue?: string; remainingItemCount?: number };
  columnDefinitions: ColumnDefinition[];
  rows: TableRow[];
}

function rowObject(o: KubeObject, include: IncludeObject): TableRow['object'] {
  if (include === 'None') return undefined;
  if (include === 'Object') return o;
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata };
}

export function toTable(kind: Pick<KindInfo, 'group' | 'kind'>, objects: KubeObject[], opts: { includeObject: IncludeObject; now: number }): Table {
  const columns = columnsFor(kind.group, kind.kind);
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: {},
    columnDefinitions: columns.map((c) => ({ ...c.def })),
    rows: objects.map((o) => {
      const row: TableRow = { cells: columns.map((c) => c.cell(o, opts.now)) };
      const object = rowObject(o, opts.includeObject);
      if (object) row.object = object;
      return row;
    }),
  };
}

export type { Cell, ColumnDefinition } from './table-columns.ts';
