/**
 * A fast non-cryptographic string hash giving 53 bits (cyrb53: two interleaved 32-bit
 * multiply-xorshift lanes). Written by hand because the ring needs a synchronous hash on the
 * request path: xxhash-wasm needs async initialisation and node:crypto digests cost several
 * times more per short key. 53 bits keep the value an exact JavaScript number, so ring
 * positions compare without BigInt.
 */
export function hash53(s: string, seed = 0): number {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}
