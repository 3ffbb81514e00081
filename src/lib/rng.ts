/** Injected randomness: `next()` in [0, 1). Tests use a seeded generator. */
export interface Rng { next(): number }
export const mathRng: Rng = { next: () => Math.random() };
/** mulberry32: small, fast, good enough for load balancing and jitter in tests. */
export function seededRng(seed: number): Rng {
  let a = seed >>> 0;
  return {
    next() {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    },
  };
}
