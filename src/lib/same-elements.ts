/**
 * Whether two arrays hold the same elements in the same order, compared with `===` (the same
 * objects, equal strings). Translation caches key on the identities of their inputs this way.
 */
export function sameElements(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
