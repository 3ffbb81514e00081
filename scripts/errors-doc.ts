// Builds docs/errors.md (the one list of every SLUICE_E_* code) from the per-area fragments in
// docs/errors/*.md, which each area's owners keep next to their code. Run: node --import tsx scripts/errors-doc.ts
import fs from 'node:fs';
import path from 'node:path';

const dir = 'docs/errors';
const rows: { code: string; area: string; meaning: string }[] = [];
const seen = new Map<string, string>();
for (const f of fs.readdirSync(dir).filter((x) => x.endsWith('.md')).sort()) {
  const area = path.basename(f, '.md');
  for (const line of fs.readFileSync(path.join(dir, f), 'utf8').split('\n')) {
    // `SLUICE_E_X — meaning` lines, or table rows `| `SLUICE_E_X` | ... | meaning |`.
    let m = /^\s*[-*]?\s*`?(SLUICE_E_[A-Z0-9_]+)`?\s*[—:-]+\s*(.+)$/.exec(line);
    if (!m) {
      const t = /^\|\s*`?(SLUICE_E_[A-Z0-9_]+)`?\s*\|(.*)\|\s*$/.exec(line);
      if (t) m = [t[0], t[1]!, t[2]!.split('|').map((c) => c.trim()).filter(Boolean).join(' — ')] as unknown as RegExpExecArray;
    }
    if (!m) continue;
    const code = m[1]!;
    if (seen.has(code)) continue; // shared codes (e.g. store codes re-listed by the API server) keep their first home
    seen.set(code, area);
    rows.push({ code, area, meaning: m[2]!.trim().replace(/\|/g, '\\|') });
  }
}
rows.sort((a, b) => a.code.localeCompare(b.code));
const out = [
  '# sluice error codes',
  '',
  'Every error sluice raises carries a stable code. Over the API it arrives inside a Kubernetes',
  'Status object; in logs it is the `code` field. This page is generated from the per-area lists in',
  '`docs/errors/` by `node --import tsx scripts/errors-doc.ts`; `test/errors-doc.test.ts` checks that',
  'it names exactly the codes the source uses.',
  '',
  '| code | area | meaning |',
  '|---|---|---|',
  ...rows.map((r) => `| \`${r.code}\` | ${r.area} | ${r.meaning} |`),
  '',
];
fs.writeFileSync('docs/errors.md', out.join('\n'));
console.log(`docs/errors.md: ${rows.length} codes`);
