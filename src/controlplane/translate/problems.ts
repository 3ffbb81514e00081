/**
 * Collects translation Problems. The same input is often translated for several proxies or
 * namespaces in one run; a problem is recorded once per (resource, field, message).
 */
import type { KubeObject } from '../../api/meta.ts';
import { refOf, type Problem } from './types.ts';

export class ProblemSink {
  private readonly seen = new Set<string>();
  readonly list: Problem[] = [];
  private readonly listeners = new Set<(args: [KubeObject, string, string, Problem['severity']]) => void>();

  /** Calls `fn` with every add (before de-duplication) until the returned function is called. */
  listen(fn: (args: [KubeObject, string, string, Problem['severity']]) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  add(obj: KubeObject, field: string, message: string, severity: Problem['severity'] = 'warning'): void {
    for (const l of this.listeners) l([obj, field, message, severity]);
    const resource = refOf(obj);
    const key = `${resource.kind}|${resource.namespace}|${resource.name}|${field}|${message}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.list.push({ resource, field, message, severity });
  }

  /** Reports an input field sluice does not translate. */
  unsupported(obj: KubeObject, field: string, what?: string): void {
    this.add(obj, field, `${what ?? field} is not supported by sluice and was not applied`, 'warning');
  }

  /** Problems in a stable order (resource, then field, then message). */
  sorted(): Problem[] {
    const k = (p: Problem) => `${p.resource.kind}\u0000${p.resource.namespace}\u0000${p.resource.name}\u0000${p.field}\u0000${p.message}`;
    return [...this.list].sort((a, b) => (k(a) < k(b) ? -1 : k(a) > k(b) ? 1 : 0));
  }
}
