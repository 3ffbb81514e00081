/** GET on resources: get one, list (pages, selectors), watch, each as JSON or as a meta.k8s.io/v1 Table. */
import type { KubeObject, WatchEvent } from '../api/meta.ts';
import { apiVersionOf } from '../api/registry.ts';
import { toTable } from '../api/table.ts';
import type { ListOptions } from '../store/store.ts';
import { qualified, rid, type HandlerContext } from './handler-context.ts';
import { boolParam, intParam, sendJson, wantsTable } from './http-util.ts';
import { badRequest, notFoundError } from './status.ts';
import { matchesExtra, splitFieldSelector, type SplitSelector } from './field-filter.ts';
import { serveWatch } from './watch-stream.ts';

type IncludeObject = 'None' | 'Metadata' | 'Object';

function includeObjectParam(q: URLSearchParams): IncludeObject {
  const v = q.get('includeObject');
  if (v === null || v === '') return 'Metadata';
  if (v === 'None' || v === 'Metadata' || v === 'Object') return v;
  throw badRequest(`query parameter includeObject=${JSON.stringify(v)} is invalid: expected None, Metadata or Object`);
}

/** Store list options from the query, plus kind-specific field terms the API server filters itself. */
function selectorsOf(ctx: HandlerContext): { opts: ListOptions; extra: SplitSelector['extra'] } {
  const q = ctx.url.searchParams;
  const opts: ListOptions = {};
  if (ctx.r.namespace) opts.namespace = ctx.r.namespace;
  const ls = q.get('labelSelector');
  if (ls) opts.labelSelector = ls;
  const split = splitFieldSelector(ctx.r.kind, q.get('fieldSelector') ?? undefined);
  const parts = split.store ? [split.store] : [];
  if (ctx.r.name !== undefined) parts.push(`metadata.name=${ctx.r.name}`);
  if (parts.length > 0) opts.fieldSelector = parts.join(',');
  return { opts, extra: split.extra };
}

/** GET on a collection or an object; `watch=true` (or `/watch/`) turns either into a watch. */
export async function handleGet(ctx: HandlerContext): Promise<void> {
  const q = ctx.url.searchParams;
  const table = wantsTable(ctx.req.headers.accept);
  const watch = ctx.r.legacyWatch || boolParam(q, 'watch') === true;
  if (watch) {
    const include = includeObjectParam(q);
    const transform = table
      ? { fn: (ev: WatchEvent) => ({ type: ev.type, object: toTable(ctx.r.kind, [ev.object], { includeObject: include, now: ctx.state.clock.now() }) }), encoding: `table:${include}` }
      : undefined;
    const { opts, extra } = selectorsOf(ctx);
    return serveWatch(ctx, opts, transform, extra.length > 0 ? (o) => matchesExtra(o, extra) : undefined);
  }
  if (ctx.r.name !== undefined) return getOne(ctx, table);
  return list(ctx, table);
}

async function getOne(ctx: HandlerContext, table: boolean): Promise<void> {
  const { r, state } = ctx;
  const obj = await state.store.get(rid(r.kind), r.namespace, r.name!);
  if (!obj) throw notFoundError(`${qualified(r.kind)} "${r.name}" not found`, { name: r.name, group: r.kind.group, kind: r.kind.plural });
  if (table) {
    sendJson(ctx.res, 200, toTable(r.kind, [obj], { includeObject: includeObjectParam(ctx.url.searchParams), now: state.clock.now() }));
    return;
  }
  sendJson(ctx.res, 200, obj);
}

async function list(ctx: HandlerContext, table: boolean): Promise<void> {
  const { r, state, url } = ctx;
  const q = url.searchParams;
  const { opts, extra } = selectorsOf(ctx);
  const limit = intParam(q, 'limit');
  if (limit !== undefined && limit > 0) opts.limit = limit;
  const cont = q.get('continue');
  if (cont) opts.continue = cont;
  const result = await state.store.list(rid(r.kind), opts);
  // Kind-specific field terms filter each page (a page may come back short, as Kubernetes allows).
  if (extra.length > 0) result.items = result.items.filter((o) => matchesExtra(o, extra));
  const metadata: Record<string, unknown> = { resourceVersion: result.resourceVersion };
  if (result.continue) metadata.continue = result.continue;
  if (result.remainingItemCount !== undefined) metadata.remainingItemCount = result.remainingItemCount;
  if (table) {
    const t = toTable(r.kind, result.items as KubeObject[], { includeObject: includeObjectParam(q), now: state.clock.now() }) as unknown as { metadata?: Record<string, unknown> };
    t.metadata = { ...(t.metadata ?? {}), ...metadata };
    sendJson(ctx.res, 200, t);
    return;
  }
  sendJson(ctx.res, 200, { apiVersion: apiVersionOf(r.kind), kind: `${r.kind.kind}List`, metadata, items: result.items });
}
