import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { writePodLogMeta, podLogPath } from '../../runtime/pod-logs.ts';
import { register } from './logs.ts';

function seed(dir: string, pod: string, revision: string, service: string, text: string, at: string): void {
  writePodLogMeta(dir, { pod, namespace: 'default', service, configuration: service, revision, createdAt: at });
  appendFileSync(podLogPath(dir, 'default', pod), text);
}

async function run(args: string[]): Promise<{ out: string; err?: unknown }> {
  const program = new Command().exitOverride();
  register(program);
  let out = '';
  const orig = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((s: string) => { out += s; return true; }) as typeof process.stdout.write;
  try {
    await program.parseAsync(['node', 'sluice', 'logs', ...args]);
    return { out };
  } catch (err) {
    return { out, err };
  } finally {
    process.stdout.write = orig;
  }
}

test('sluice logs prints a service\'s pod logs, filters by revision, tails, and names what is missing', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-logs-'));
  try {
    seed(dir, 'hello-00001-deployment-x-aaaaa', 'hello-00001', 'hello', 'one\ntwo\n', '2026-01-01T00:00:00.000Z');
    seed(dir, 'hello-00002-deployment-y-bbbbb', 'hello-00002', 'hello', 'three\n', '2026-01-01T00:00:01.000Z');
    seed(dir, 'other-00001-deployment-z-ccccc', 'other-00001', 'other', 'nope\n', '2026-01-01T00:00:02.000Z');

    const all = await run(['hello', '--state-dir', dir]);
    assert.equal(all.out, '[hello-00001-deployment-x-aaaaa] one\n[hello-00001-deployment-x-aaaaa] two\n[hello-00002-deployment-y-bbbbb] three\n');

    const one = await run(['hello', '--revision', 'hello-00001', '--state-dir', dir]);
    assert.equal(one.out, 'one\ntwo\n');

    const tail = await run(['hello', '--revision', 'hello-00001', '--tail', '1', '--state-dir', dir]);
    assert.equal(tail.out, 'two\n');

    const missing = await run(['ghost', '--state-dir', dir]);
    assert.match(String((missing.err as Error).message), /no logs for service "ghost" in namespace "default"/);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});
