import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createServer } from 'node:net';
import { freePort, podPortRange } from './pod-ports.ts';

test('the pod port range sits below the ephemeral range; unknown or too low ranges mean port 0', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-ports-'));
  try {
    const f = path.join(dir, 'range');
    fs.writeFileSync(f, '32768\t60999\n');
    assert.deepEqual(podPortRange(f), [10_000, 32_767], 'Linux default range');
    fs.writeFileSync(f, '1024 65535\n');
    assert.equal(podPortRange(f), undefined, 'no room below the ephemeral range');
    assert.equal(podPortRange(path.join(dir, 'missing')), undefined, 'no such file');
  } finally { fs.rmSync(dir, { recursive: true, force: true }); }
});

test('freePort gives distinct ports that bind on 127.0.0.1, outside the ephemeral range when there is one', async () => {
  const range = podPortRange();
  const seen = new Set<number>();
  for (let i = 0; i < 20; i++) {
    const p = await freePort();
    assert.ok(!seen.has(p), `port ${p} handed out twice in a row`);
    seen.add(p);
    if (range) assert.ok(p >= range[0] && p <= range[1], `port ${p} within ${range.join('-')}`);
    const s = createServer();
    await new Promise<void>((resolve, reject) => { s.once('error', reject); s.listen(p, '127.0.0.1', () => resolve()); });
    await new Promise<void>((r) => s.close(() => r()));
  }
});
