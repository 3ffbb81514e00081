/**
 * List with filters and pagination over the sorted index. `continue` tokens are opaque to
 * callers (base64url JSON of the last key returned); pages are taken in namespace/name order.
 * Like Kubernetes' inconsistent continuation, a later page reads the current state after the
 * last key rather than a snapshot at the first page's resourceVersion.
 */
import type { Entry, ObjectIndex } from './object-index.ts';
import { compareKeys } from './object-index.ts';
import type { ListOptions } from './store.ts';
import { parseLabelSelector } from './label-selector.ts';
import { parseFieldSelector, pinnedNamespace } from './field-selector.ts';
import { badRequest } from './store-errors.ts';

interface ContinueToken { v: 1; ns: string; name: string; rv: number }

export function encodeContinue(last: Entry, rv: number): string {
  const t: ContinueToken = { v: 1, ns: last.namespace, name: last.name, rv };
  return Buffer.from(JSON.stringify(t)).toString('base64url');
}

export function decodeContinue(token: string): ContinueToken {
  let t: unknown;
  try {
    t = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    t = undefined;
  }
  const c = t as Partial<ContinueToken> | undefined;
  if (!c || c.v !== 1 || typeof c.ns !== 'string' || typeof c.name !== 'string' || typeof c.rv !== 'number') {
    throw badRequest(`continue token "${token.length > 40 ? token.slice(0, 40) + '…' : token}" is not valid: pass the "continue" value of the previous page unchanged`);
  }
  return c as ContinueToken;
}

export function checkLimit(limit: number | undefined): number {
  if (limit === undefined || limit === 0) return 0;
  if (!Number.isInteger(limit) || limit < 0) throw badRequest(`limit ${limit} is not valid: expected a non-negative integer`);
  return limit;
}

export interface Page { entries: Entry[]; continue?: string; remainingItemCount?: number }

/** Selects the entries of one page. `rv` is stamped into the continue token. */
export function listPage(index: ObjectIndex, resource: string, opts: ListOptions | undefined, rv: number): Page {
  const labels = parseLabelSelector(opts?.labelSelector);
  const fields = parseFieldSelector(opts?.fieldSelector);
  const limit = checkLimit(opts?.limit);
  let ns = opts?.namespace || undefined;
  const pinned = pinnedNamespace(fields);
  if (pinned !== undefined) {
    if (ns !== undefined && ns !== pinned) return { entries: [] };
    ns = pinned;
  }
  const all = index.sorted(resource);
  let i = 0;
  if (opts?.continue) {
    const c = decodeContinue(opts.continue);
    i = index.lowerBound(all, c.ns, c.name);
    if (i < all.length && compareKeys(all[i]!.namespace, all[i]!.name, c.ns, c.name) === 0) i++;
  }
  if (ns !== undefined) {
    const start = index.lowerBound(all, ns, '');
    if (start > i) i = start;
  }
  const out: Entry[] = [];
  const filtered = !labels.empty || !fields.empty;
  for (; i < all.length; i++) {
    const e = all[i]!;
    if (ns !== undefined && e.namespace !== ns) break; // sorted by namespace: past it, done
    if (filtered && !(labels.matches(e.view.metadata.labels) && fields.matches(e.view))) continue;
    if (limit > 0 && out.length === limit) {
      const page: Page = { entries: out, continue: encodeContinue(out[out.length - 1]!, rv) };
      // Kubernetes reports the remaining count only when it is exact (no selectors).
      if (!filtered && ns === undefined) page.remainingItemCount = all.length - i;
      return page;
    }
    out.push(e);
  }
  return { entries: out };
}
