// Every stable error code used in the source is listed in docs/errors.md, and the list names no
// code that no longer exists.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

function walk(dir: string, out: string[] = []): string[] {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (p.endsWith('.ts') && !p.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

test('docs/errors.md lists exactly the SLUICE_E_* codes the source uses', () => {
  const used = new Set<string>();
  for (const f of walk('src')) for (const m of fs.readFileSync(f, 'utf8').matchAll(/SLUICE_E_[A-Z0-9_]*[A-Z0-9]/g)) used.add(m[0]);
  const doc = fs.readFileSync('docs/errors.md', 'utf8');
  const listed = new Set([...doc.matchAll(/^\|\s*`(SLUICE_E_[A-Z0-9_]+)`/gm)].map((m) => m[1]!));
  const missing = [...used].filter((c) => !listed.has(c)).sort();
  const stale = [...listed].filter((c) => !used.has(c)).sort();
  assert.deepEqual(missing, [], `codes used in src/ but missing from docs/errors.md: ${missing.join(', ')}`);
  assert.deepEqual(stale, [], `codes in docs/errors.md that src/ no longer uses: ${stale.join(', ')}`);
});
