/**
 * RE2 (Envoy's safe_regex) → JavaScript RegExp. RE2's syntax is nearly a subset of JavaScript's;
 * this translates the parts that are spelled differently and refuses what would change meaning or
 * what RE2 itself rejects, so a route never matches differently here than in Envoy.
 * Hand-written because no maintained npm package converts RE2 to JS syntax without native code.
 */
import { SluiceError } from '../../lib/errors.ts';
import { ProxyErrors } from '../proxy-errors.ts';

function refuse(src: string, what: string): never {
  throw new SluiceError(ProxyErrors.REGEX, `regex ${JSON.stringify(src)}: ${what} is not supported (RE2 syntax that JavaScript cannot evaluate identically)`);
}

/** Returns JS source for an RE2 pattern plus flags. Throws SLUICE_E_PROXY_REGEX on unsupported syntax. */
export function re2ToJs(src: string): { source: string; flags: string } {
  let flags = '';
  let out = '';
  let i = 0;
  let inClass = false;
  // Leading inline flags like (?i) or (?s) apply to the whole pattern.
  const lead = /^\(\?([imsU]+)\)/.exec(src);
  if (lead) {
    for (const f of lead[1]) {
      if (f === 'U') refuse(src, '(?U) ungreedy flag');
      if (f === 'i' || f === 's' || f === 'm') if (!flags.includes(f)) flags += f;
    }
    i = lead[0].length;
  }
  while (i < src.length) {
    const c = src[i];
    if (c === '\\') {
      const n = src[i + 1];
      if (n === undefined) refuse(src, 'trailing backslash');
      if (/[1-9]/.test(n)) refuse(src, `backreference \\${n}`);
      if (n === 'A') { out += '^'; i += 2; continue; }
      if (n === 'z') { out += '$'; i += 2; continue; }
      if (n === 'Q') {
        const end = src.indexOf('\\E', i + 2);
        const lit = src.slice(i + 2, end < 0 ? src.length : end);
        out += lit.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
        i = end < 0 ? src.length : end + 2;
        continue;
      }
      if (n === 'p' || n === 'P') { if (!flags.includes('u')) flags += 'u'; }
      if (n === 'C') refuse(src, '\\C (any byte)');
      out += c + n;
      i += 2;
      continue;
    }
    if (inClass) {
      if (c === '[' && src[i + 1] === ':') refuse(src, 'POSIX class [[:name:]]');
      if (c === ']') inClass = false;
      out += c;
      i++;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += c;
      i++;
      if (src[i] === '^') { out += '^'; i++; }
      if (src[i] === ']') { out += '\\]'; i++; }
      continue;
    }
    if (c === '(' && src[i + 1] === '?') {
      const rest = src.slice(i + 2);
      if (rest.startsWith('P<')) { out += '(?<'; i += 4; continue; }
      if (rest.startsWith(':')) { out += '(?:'; i += 3; continue; }
      if (rest.startsWith('<') && !rest.startsWith('<=') && !rest.startsWith('<!')) { out += '(?<'; i += 3; continue; }
      if (/^[=!]|^<[=!]/.test(rest)) refuse(src, 'lookaround (?= (?! (?<= (?<!');
      refuse(src, `inline flag group "(?${rest.slice(0, 3)}"`);
    }
    out += c;
    i++;
  }
  if (inClass) refuse(src, 'unterminated character class');
  return { source: out, flags };
}

/** Compiles an RE2 pattern that must match the whole input (Envoy's full-match semantics). */
export function compileFullMatch(src: string, ignoreCase = false): RegExp {
  const { source, flags } = re2ToJs(src);
  const f = ignoreCase && !flags.includes('i') ? flags + 'i' : flags;
  try {
    return new RegExp(`^(?:${source})$`, f);
  } catch (e) {
    throw new SluiceError(ProxyErrors.REGEX, `regex ${JSON.stringify(src)}: ${(e as Error).message}`, { cause: e });
  }
}
