/**
 * watch=true: streams newline-delimited JSON WatchEvents over a chunked response, the way the
 * Kubernetes API server does. Without a resourceVersion (or with "0") the current objects come
 * first as ADDED events; `sendInitialEvents=true` ends them with the `k8s.io/initial-events-end`
 * bookmark. A resourceVersion older than the store's window is answered, as Kubernetes does,
 * with 200 and one ERROR event carrying a 410 Expired Status.
 */
import type { KubeObject, WatchEvent } from '../api/meta.ts';
import { isSluiceError } from '../lib/errors.ts';
import { log } from '../lib/log.ts';
import { StoreErrors, type ListOptions, type Watch } from '../store/store.ts';
import { rid, type HandlerContext } from './handler-context.ts';
import { boolParam, intParam } from './http-util.ts';
import { toStatus } from './status.ts';

/** Default server-side watch timeout when the client names none (Kubernetes picks 30–60 min). */
const DEFAULT_TIMEOUT_S = 1800;
const BOOKMARK_INTERVAL_MS = 60_000;
/** A watcher this far behind is cut off; it relists and resumes, as with Kubernetes. */
const MAX_BUFFERED_BYTES = 16 * 1024 * 1024;
const WATCH_LINE_CACHE = 512;

export type EventTransform = (ev: WatchEvent) => unknown;

/**
 * Streams a watch. `transform` re-encodes events (Table output) and `encoding` names that
 * encoding for the shared line cache; `filter` drops objects the store's selectors cannot.
 */
export async function serveWatch(ctx: HandlerContext, selectors: ListOptions, transform?: { fn: EventTransform; encoding: string }, filter?: (o: KubeObject) => boolean): Promise<void> {
  const { res, url, r, state } = ctx;
  const q = url.searchParams;
  const rvParam = q.get('resourceVersion') ?? '';
  const allowBookmarks = boolParam(q, 'allowWatchBookmarks') === true;
  const sendInitial = boolParam(q, 'sendInitialEvents');
  const timeoutS = intParam(q, 'timeoutSeconds') ?? DEFAULT_TIMEOUT_S;
  const id = rid(r.kind);

  res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
  res.flushHeaders();

  let closed = false;
  let watch: Watch | undefined;
  const pending: WatchEvent[] = [];
  const write = (ev: WatchEvent): void => {
    if (closed) return;
    res.write(encode(ev));
    if (res.writableLength > MAX_BUFFERED_BYTES) {
      log.warn({ resource: id, buffered: res.writableLength }, 'watch: client too slow, closing stream');
      finish();
    }
  };
  const timer = state.clock.setTimeout(() => finish(), timeoutS * 1000);
  const finish = (): void => {
    if (closed) return;
    closed = true;
    state.clock.clearTimeout(timer);
    watch?.stop();
    state.watches.delete(finish);
    res.end();
  };
  state.watches.add(finish);
  ctx.req.on('close', finish);
  res.on('close', finish);

  /**
   * One event goes to every watcher of its resource: its JSON line is built once and shared
   * through a small cache keyed by (encoding, type, uid, resourceVersion).
   */
  const encoding = transform ? transform.encoding : 'json';
  const encode = (ev: WatchEvent): string => {
    if (ev.type === 'ERROR' || ev.type === 'BOOKMARK') return JSON.stringify(ev) + '\n';
    const md = ev.object?.metadata;
    const key = md?.uid && md.resourceVersion ? `${encoding}|${ev.type}|${md.uid}|${md.resourceVersion}` : undefined;
    const hit = key === undefined ? undefined : state.watchLines.get(key);
    if (hit !== undefined) return hit;
    const line = JSON.stringify(transform ? transform.fn(ev) : ev) + '\n';
    if (key !== undefined) {
      if (state.watchLines.size >= WATCH_LINE_CACHE) state.watchLines.clear();
      state.watchLines.set(key, line);
    }
    return line;
  };

  const emit = (ev: WatchEvent): void => {
    if (ev.type === 'BOOKMARK' && !allowBookmarks) return;
    if (filter && ev.type !== 'BOOKMARK' && ev.type !== 'ERROR' && !filter(ev.object)) return;
    write(ev);
  };

  try {
    let fromRv = rvParam;
    const initial = sendInitial === true || (sendInitial === undefined && (rvParam === '' || rvParam === '0'));
    if (initial) {
      // List then watch from the list's resourceVersion: no gap and no duplicate.
      const listed = await state.store.list(id, { ...selectors, limit: undefined, continue: undefined });
      fromRv = listed.resourceVersion;
      // Events that arrive while the initial ones are written queue behind them.
      let watchReady = false;
      watch = state.store.watch(id, { ...selectors, resourceVersion: fromRv, bookmarkIntervalMs: allowBookmarks ? BOOKMARK_INTERVAL_MS : undefined }, (ev) => {
        if (watchReady) emit(ev);
        else pending.push(ev);
      });
      for (const o of listed.items) if (!filter || filter(o)) write({ type: 'ADDED', object: o });
      if (sendInitial === true && allowBookmarks) {
        write({ type: 'BOOKMARK', object: bookmarkObject(r.kind.group ? `${r.kind.group}/${r.kind.version}` : r.kind.version, r.kind.kind, fromRv, true) });
      }
      watchReady = true;
      for (const ev of pending.splice(0)) emit(ev);
    } else {
      watch = state.store.watch(id, { ...selectors, resourceVersion: fromRv, bookmarkIntervalMs: allowBookmarks ? BOOKMARK_INTERVAL_MS : undefined }, emit);
    }
    if (closed) watch.stop();
  } catch (e) {
    // 410 (resourceVersion too old) and any other failure end the stream with an ERROR event.
    if (!isSluiceError(e, StoreErrors.Gone)) log.debug({ err: e, resource: id }, 'watch failed');
    write({ type: 'ERROR', object: toStatus(e) as unknown as KubeObject });
    finish();
  }
}

function bookmarkObject(apiVersion: string, kind: string, rv: string, initialEnd: boolean): KubeObject {
  const md: KubeObject['metadata'] = { resourceVersion: rv };
  if (initialEnd) md.annotations = { 'k8s.io/initial-events-end': 'true' };
  return { apiVersion, kind, metadata: md };
}
