/** How workers are started: the esbuild bundle (plain Node) and its tsx fallback. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { WORKER_V8_FLAGS, withoutTsx, workerEntry } from './worker-bundle.ts';

test('withoutTsx drops every form of the tsx loader flag and keeps the rest', () => {
  assert.deepEqual(withoutTsx(['--import', 'tsx', '--enable-source-maps', '--loader=tsx/esm', '--require', 'tsx/cjs', '--max-old-space-size=256']), ['--enable-source-maps', '--max-old-space-size=256']);
  assert.deepEqual(withoutTsx(['--import', './other.mjs']), ['--import', './other.mjs']);
});

test('workerEntry builds a plain-JS bundle that Node runs without tsx', () => {
  const e = workerEntry(['--import', 'tsx']);
  assert.equal(e.bundled, true);
  assert.match(e.exec, /node_modules[\\/]\.cache[\\/]sluice[\\/]proxy-worker-[0-9a-f]{16}\.mjs$/);
  assert.ok(fs.existsSync(e.exec));
  assert.deepEqual(e.execArgv, [...WORKER_V8_FLAGS]);
  // Same source → same content-addressed file.
  assert.equal(workerEntry([]).exec, e.exec);
  // Run without the supervisor: the worker must load every module and refuse to start alone.
  const r = spawnSync(process.execPath, [...e.execArgv, e.exec], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, SLUICE_LOG_LEVEL: 'warn' } });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /must be started by the proxy supervisor/);
});

test('SLUICE_PROXY_WORKER_TSX=1 runs the TypeScript source under tsx', () => {
  process.env.SLUICE_PROXY_WORKER_TSX = '1';
  try {
    const e = workerEntry(['--enable-source-maps']);
    assert.equal(e.bundled, false);
    assert.match(e.exec, /worker-main\.ts$/);
    assert.deepEqual(e.execArgv, ['--enable-source-maps', '--import', 'tsx']);
  } finally {
    delete process.env.SLUICE_PROXY_WORKER_TSX;
  }
});
