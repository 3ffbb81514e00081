/**
 * Earliest-deadline-first scheduler, as Envoy's EdfScheduler: each entry is due at
 * `deadline = now + 1 / weight`; picking takes the earliest deadline and re-queues the entry
 * at its next deadline. Over any run of picks each entry is chosen in proportion to its weight,
 * and picks are interleaved smoothly (no bursts to the heaviest host).
 * Hand-written: a 60-line binary heap keyed by (deadline, insertion order) is smaller than a
 * dependency and lets the weight be re-evaluated on each re-queue (least request needs that).
 */
interface Entry<T> { item: T; deadline: number; seq: number }

export class EdfScheduler<T> {
  private heap: Entry<T>[] = [];
  private seq = 0;
  private current = 0;

  /** `weightOf` is called each time an entry is (re)queued; it must return > 0. */
  constructor(items: readonly T[], private readonly weightOf: (item: T) => number) {
    for (const it of items) this.push(it, this.current + 1 / weightOf(it));
  }

  get size(): number { return this.heap.length; }

  /** The next item by deadline; it is re-queued at its next deadline. */
  pick(): T | undefined {
    const top = this.heap[0];
    if (!top) return undefined;
    this.popTop();
    this.current = top.deadline;
    this.push(top.item, this.current + 1 / this.weightOf(top.item));
    return top.item;
  }

  private push(item: T, deadline: number): void {
    const e: Entry<T> = { item, deadline, seq: this.seq++ };
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private popTop(): void {
    const h = this.heap;
    const last = h.pop()!;
    if (h.length === 0) return;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1, r = l + 1;
      let m = i;
      if (l < h.length && less(h[l]!, h[m]!)) m = l;
      if (r < h.length && less(h[r]!, h[m]!)) m = r;
      if (m === i) break;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }
}

/** Deadlines within a relative 1e-9 are a tie (1/3 + 1/3 + 1/3 must equal 1), broken by queue order. */
function less<T>(a: Entry<T>, b: Entry<T>): boolean {
  const d = a.deadline - b.deadline;
  const eps = a.deadline > 1 ? 1e-9 * a.deadline : 1e-9; // deadlines are ≥ 0 and grow
  if (d < -eps) return true;
  if (d > eps) return false;
  return a.seq < b.seq;
}
