/**
 * Reads manifests for `sluice apply/delete -f`: a file, a directory (its .yaml/.yml/.json files,
 * sorted) or `-` for stdin; multi-document YAML and `kind: List`. Every problem names the file
 * and line of the document it is in.
 */
import fs from 'node:fs';
import path from 'node:path';
import { LineCounter, parseAllDocuments } from 'yaml';
import type { KubeObject } from '../api/meta.ts';
import { kindByGvk, type KindInfo } from '../api/registry.ts';
import { SluiceError } from '../lib/errors.ts';

export const ManifestErrors = {
  Read: 'SLUICE_E_MANIFEST_READ',
  Syntax: 'SLUICE_E_MANIFEST_SYNTAX',
  Invalid: 'SLUICE_E_MANIFEST_INVALID',
} as const;

export interface Manifest {
  object: KubeObject;
  kind: KindInfo;
  /** `file:line` of the document, for messages. */
  where: string;
}

const EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

function filesOf(p: string): string[] {
  let st: fs.Stats;
  try {
    st = fs.statSync(p);
  } catch (e) {
    throw new SluiceError(ManifestErrors.Read, `cannot read ${p}: ${(e as Error).message}`, { cause: e });
  }
  if (!st.isDirectory()) return [p];
  return fs.readdirSync(p).filter((f) => EXTENSIONS.has(path.extname(f).toLowerCase())).sort().map((f) => path.join(p, f));
}

/** Parses the text of one source into manifests. */
export function parseManifests(text: string, source: string): Manifest[] {
  const lc = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lc, prettyErrors: false });
  const list = Array.isArray(docs) ? docs : [docs];
  const out: Manifest[] = [];
  for (const doc of list) {
    const err = doc.errors[0];
    if (err) {
      const pos = err.linePos?.[0] ?? lc.linePos(err.pos[0]);
      throw new SluiceError(ManifestErrors.Syntax, `${source}:${pos.line}:${pos.col}: invalid YAML: ${err.message.split('\n')[0]}`);
    }
    if (doc.contents === null) continue;
    const line = lc.linePos(doc.contents.range[0]).line;
    const value = doc.toJS({ maxAliasCount: 100 }) as unknown;
    if (value === null || value === undefined) continue;
    const where = `${source}:${line}`;
    if (typeof value !== 'object' || Array.isArray(value)) throw new SluiceError(ManifestErrors.Invalid, `${where}: a manifest must be a mapping with apiVersion, kind and metadata`);
    const obj = value as KubeObject;
    if (obj.kind === 'List' && Array.isArray(obj.items)) {
      obj.items.forEach((item, i) => out.push(toManifest(item, `${where} (items[${i}])`)));
      continue;
    }
    out.push(toManifest(obj, where));
  }
  return out;
}

function toManifest(v: unknown, where: string): Manifest {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new SluiceError(ManifestErrors.Invalid, `${where}: a manifest must be a mapping`);
  const obj = v as KubeObject;
  if (typeof obj.apiVersion !== 'string' || obj.apiVersion === '') throw new SluiceError(ManifestErrors.Invalid, `${where}: apiVersion: Required value`);
  if (typeof obj.kind !== 'string' || obj.kind === '') throw new SluiceError(ManifestErrors.Invalid, `${where}: kind: Required value`);
  const kind = kindByGvk(obj.apiVersion, obj.kind);
  if (!kind) throw new SluiceError(ManifestErrors.Invalid, `${where}: unknown kind "${obj.kind}" in apiVersion "${obj.apiVersion}": sluice serves no such resource (see \`kubectl api-resources\`)`);
  if (!obj.metadata || typeof obj.metadata !== 'object' || typeof obj.metadata.name !== 'string' || obj.metadata.name === '') {
    throw new SluiceError(ManifestErrors.Invalid, `${where}: metadata.name: Required value`);
  }
  return { object: obj, kind, where };
}

/** Reads every manifest named by `-f` values (files, directories, `-`). */
export async function readManifests(sources: string[]): Promise<Manifest[]> {
  const out: Manifest[] = [];
  for (const s of sources) {
    if (s === '-') {
      const chunks: Buffer[] = [];
      for await (const c of process.stdin) chunks.push(c as Buffer);
      out.push(...parseManifests(Buffer.concat(chunks).toString('utf8'), '<stdin>'));
      continue;
    }
    for (const f of filesOf(s)) {
      let text: string;
      try {
        text = fs.readFileSync(f, 'utf8');
      } catch (e) {
        throw new SluiceError(ManifestErrors.Read, `cannot read ${f}: ${(e as Error).message}`, { cause: e });
      }
      out.push(...parseManifests(text, f));
    }
  }
  return out;
}
