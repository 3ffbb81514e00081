/**
 * The image table: maps a container image name to the command that runs it on this machine.
 * Built-ins are small Node programs under ./apps started with plain `node` (no tsx) so a pod
 * starts at bare-node speed. Knative's sample image and Kperf's default image map to hello.
 * Users add images in the config file:
 *
 *   images:
 *     example.com/my-app: { command: [node, server.js], args: [--flag], workingDir: /srv/app }
 *
 * Lookup: exact name first, then the name without tag/digest and without a `docker.io/`
 * (`library/`) prefix, so `gcr.io/knative-samples/helloworld-go:latest` and `...@sha256:…`
 * resolve like the bare name.
 */
import { fileURLToPath } from 'node:url';
import { SluiceError } from '../lib/errors.ts';
import type { Container } from '../api/types/core.ts';

export const RuntimeErrors = {
  ImageNotFound: 'SLUICE_E_IMAGE_NOT_FOUND',
  BadImageEntry: 'SLUICE_E_IMAGE_ENTRY_INVALID',
  BadMemoryLimit: 'SLUICE_E_MEMORY_LIMIT_INVALID',
  NoContainer: 'SLUICE_E_NO_CONTAINER',
} as const;

export interface ImageEntry { command: string[]; args?: string[]; workingDir?: string }
export interface ResolvedCommand {
  /** Executable and its arguments, before memory-limit wrapping. */
  file: string;
  args: string[];
  workingDir?: string;
  /** True when `file` is Node (so `--max-old-space-size` applies). */
  isNode: boolean;
  /** Where the command came from, for messages. */
  source: 'container' | 'image-table';
}

const appPath = (f: string): string => fileURLToPath(new URL(`./apps/${f}`, import.meta.url));
const node = (app: string): ImageEntry => ({ command: [process.execPath, appPath(app)] });

export const BUILTIN_IMAGES: Readonly<Record<string, ImageEntry>> = {
  'sluice/hello': node('hello.cjs'),
  'sluice/echo': node('echo.mjs'),
  'sluice/work': node('work.mjs'),
  // Knative's helloworld sample (docs, quickstart) and Kperf's default image.
  'gcr.io/knative-samples/helloworld-go': node('hello.cjs'),
  'ghcr.io/knative/helloworld-go': node('hello.cjs'),
};

/** `repo/name:tag@sha256:…` → `repo/name`, with docker.io/ and library/ dropped. */
export function normalizeImage(image: string): string {
  let s = image.trim();
  const at = s.indexOf('@');
  if (at >= 0) s = s.slice(0, at);
  const slash = s.lastIndexOf('/');
  const colon = s.lastIndexOf(':');
  if (colon > slash) s = s.slice(0, colon);
  s = s.replace(/^(index\.)?docker\.io\//, '').replace(/^library\//, '');
  return s;
}

function isNodeExe(file: string): boolean {
  if (file === process.execPath) return true;
  const base = file.split('/').pop() ?? '';
  return base === 'node' || base === 'nodejs';
}

export class ImageTable {
  private readonly entries = new Map<string, ImageEntry>();

  constructor(user: Record<string, unknown> = {}, where = 'config file `images:`') {
    for (const [k, v] of Object.entries(BUILTIN_IMAGES)) this.entries.set(k, v);
    for (const [name, raw] of Object.entries(user)) this.entries.set(name, validateEntry(name, raw, where));
  }

  names(): string[] { return [...this.entries.keys()].sort(); }

  lookup(image: string): ImageEntry | undefined {
    return this.entries.get(image) ?? this.entries.get(normalizeImage(image));
  }

  /**
   * The command a container runs: `command` (+ `args`) from the spec as given; otherwise the
   * image's entry, with the spec's `args` replacing the image's (Docker CMD semantics).
   * Throws SLUICE_E_IMAGE_NOT_FOUND naming the image when neither applies.
   */
  resolve(c: Container): ResolvedCommand {
    if (c.command && c.command.length > 0) {
      const [file, ...rest] = c.command;
      return { file, args: [...rest, ...(c.args ?? [])], workingDir: c.workingDir, isNode: isNodeExe(file), source: 'container' };
    }
    const e = this.lookup(c.image);
    if (!e) {
      throw new SluiceError(RuntimeErrors.ImageNotFound,
        `image "${c.image}" is not in sluice's image table: add it under \`images:\` in the config file (name → command, args, workingDir) or give the container a command; known images: ${this.names().join(', ')}`,
        { httpStatus: 422, details: { image: c.image } });
    }
    const [file, ...rest] = e.command;
    return { file, args: [...rest, ...(c.args ?? e.args ?? [])], workingDir: c.workingDir ?? e.workingDir, isNode: isNodeExe(file), source: 'image-table' };
  }
}

function validateEntry(name: string, raw: unknown, where: string): ImageEntry {
  const bad = (msg: string): never => {
    throw new SluiceError(RuntimeErrors.BadImageEntry, `${where}: images["${name}"]: ${msg}`, { httpStatus: 400 });
  };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) bad('must be a mapping with command, args, workingDir');
  const r = raw as Record<string, unknown>;
  for (const k of Object.keys(r)) if (!['command', 'args', 'workingDir'].includes(k)) bad(`unknown field "${k}" (expected command, args, workingDir)`);
  const strList = (v: unknown, f: string): string[] | undefined => {
    if (v === undefined) return undefined;
    if (typeof v === 'string') return [v];
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) bad(`${f} must be a list of strings`);
    return v as string[];
  };
  const command = strList(r.command, 'command');
  if (!command || command.length === 0) bad('command is required (a list: executable, then arguments)');
  if (r.workingDir !== undefined && typeof r.workingDir !== 'string') bad('workingDir must be a string');
  return { command: command!, args: strList(r.args, 'args'), workingDir: r.workingDir as string | undefined };
}
