/**
 * Request bodies: read with a size limit, decode JSON or YAML by Content-Type, and report a
 * malformed body as a 400 Status naming the line and column (kubectl and editors both point there).
 */
import type { IncomingMessage } from 'node:http';
import { parseDocument, parseAllDocuments } from 'yaml';
import { ApiServerErrors, StatusError, badRequest, failureStatus, unsupportedMediaType } from './status.ts';

/** Kubernetes' own request body limit (apiserver MaxRequestBodyBytes = 3 MiB). */
export const DEFAULT_BODY_LIMIT = 3 * 1024 * 1024;

export type BodyFormat = 'json' | 'yaml';

/** Media type without parameters, lower-cased: `application/json; charset=utf-8` → `application/json`. */
export function mediaType(contentType: string | undefined): string {
  if (!contentType) return '';
  const i = contentType.indexOf(';');
  return (i < 0 ? contentType : contentType.slice(0, i)).trim().toLowerCase();
}

export function tooLarge(limit: number): StatusError {
  return new StatusError(ApiServerErrors.BodyTooLarge, failureStatus(413, `the request body is larger than the limit of ${limit} bytes`));
}

/** Past this many bytes an oversized body is no longer drained: the connection is cut. */
const DRAIN_CAP = 64 * 1024 * 1024;

/**
 * Reads the whole body; over `limit` bytes → 413. An oversized body is drained (up to 64 MiB)
 * before the answer goes out, so the client, still sending, reads the 413 instead of a reset.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  return new Promise((resolve, reject) => {
    let over = Number.isFinite(declared) && declared > limit;
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const fail = (e: unknown): void => { if (!settled) { settled = true; reject(e); } };
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (!over && size > limit) over = true;
      if (over) {
        chunks.length = 0;
        if (size > DRAIN_CAP) { fail(tooLarge(limit)); req.destroy(); }
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (over) return fail(tooLarge(limit));
      if (!settled) { settled = true; resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)); }
    });
    req.on('error', fail);
  });
}

export function formatFor(mt: string, accepted: string[]): BodyFormat {
  if (!accepted.includes(mt)) throw unsupportedMediaType(mt, accepted);
  return mt.endsWith('yaml') ? 'yaml' : 'json';
}

function lineCol(text: string, offset: number): { line: number; col: number } {
  let line = 1;
  let last = -1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) { line++; last = i; }
  return { line, col: offset - last };
}

/**
 * Offset of the first JSON syntax error. Only runs after JSON.parse failed: V8's messages give
 * a position for some errors and not for others, and no JSON library with error positions is a
 * dependency here, so this small scanner finds it.
 */
export function jsonErrorOffset(s: string): number {
  let i = 0;
  const ws = (): void => { while (i < s.length && ' \t\r\n'.includes(s[i])) i++; };
  const fail = (): never => { throw i; };
  const value = (): void => {
    ws();
    const c = s[i];
    if (c === '{') {
      i++; ws();
      if (s[i] === '}') { i++; return; }
      for (;;) {
        ws(); if (s[i] !== '"') fail();
        str(); ws(); if (s[i] !== ':') fail();
        i++; value(); ws();
        if (s[i] === ',') { i++; continue; }
        if (s[i] === '}') { i++; return; }
        fail();
      }
    } else if (c === '[') {
      i++; ws();
      if (s[i] === ']') { i++; return; }
      for (;;) {
        value(); ws();
        if (s[i] === ',') { i++; continue; }
        if (s[i] === ']') { i++; return; }
        fail();
      }
    } else if (c === '"') str();
    else if (c !== undefined && /[-0-9]/.test(c)) {
      const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(s.slice(i, i + 400));
      if (!m) fail();
      i += m![0].length;
    } else {
      for (const lit of ['true', 'false', 'null']) if (s.startsWith(lit, i)) { i += lit.length; return; }
      fail();
    }
  };
  const str = (): void => {
    i++;
    while (i < s.length) {
      const c = s.charCodeAt(i);
      if (c === 34) { i++; return; }
      if (c < 32) fail();
      if (c === 92) {
        i++;
        if (s[i] === 'u') { if (!/^[0-9a-fA-F]{4}$/.test(s.slice(i + 1, i + 5))) fail(); i += 5; continue; }
        if (!'"\\/bfnrt'.includes(s[i] ?? 'x')) fail();
      }
      i++;
    }
    fail();
  };
  try {
    value(); ws();
    if (i < s.length) return i;
    return -1;
  } catch (at) {
    return typeof at === 'number' ? Math.min(at, s.length) : 0;
  }
}

function malformed(what: string, line: number, col: number, detail: string): StatusError {
  return badRequest(`malformed ${what} body at line ${line}, column ${col}: ${detail}`, ApiServerErrors.MalformedBody,
    [{ reason: 'FieldValueInvalid', field: `line ${line}, column ${col}`, message: detail }]);
}

/** Parses a body as JSON or YAML (one document). Malformed → 400 naming line and column. */
export function decodeBody(buf: Buffer, format: BodyFormat): unknown {
  const text = buf.toString('utf8');
  if (text.trim() === '') throw badRequest('the request body is empty: expected an object', ApiServerErrors.MalformedBody);
  if (format === 'json') {
    try {
      return JSON.parse(text);
    } catch (e) {
      const off = jsonErrorOffset(text);
      const { line, col } = lineCol(text, off < 0 ? text.length : off);
      const near = off >= 0 && off < text.length ? `unexpected ${JSON.stringify(text.slice(off, off + 12))}` : 'unexpected end of input';
      throw malformed('JSON', line, col, `${near} (${(e as Error).message.split('\n')[0].slice(0, 80)})`);
    }
  }
  const docs = parseAllDocuments(text, { prettyErrors: false });
  const list = Array.isArray(docs) ? docs : [docs];
  const real = list.filter((d) => d.contents !== null || d.errors.length > 0);
  if (real.length > 1) throw badRequest(`the YAML body holds ${real.length} documents: send one object per request`, ApiServerErrors.MalformedBody);
  const doc = real[0] ?? parseDocument(text);
  const err = doc.errors[0];
  if (err) {
    const pos = err.linePos?.[0] ?? lineCol(text, err.pos[0]);
    throw malformed('YAML', pos.line, pos.col, err.message.split('\n')[0]);
  }
  return doc.toJS({ maxAliasCount: 100 });
}

export function requireObject(v: unknown, what = 'the request body'): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw badRequest(`${what} must be an object, got ${v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v}`, ApiServerErrors.MalformedBody);
  }
  return v as Record<string, unknown>;
}
