/**
 * The readiness benchmark end to end in CI: the `ci` scenario (50 Knative Services, 50 ms apart,
 * over 2 namespaces) against a real `sluice up` with its gateway, through `sluice bench readiness`
 * (which uses @kubernetes/client-node, as against a real cluster). Every service must become
 * Ready, and the CSV, JSON and HTML reports must be written and parse; the last line is the
 * headline JSON with the keys the issue names.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import path from 'node:path';
import { REPO, startSluice, tempDir, type SluiceProc } from './api-harness.ts';

const run = promisify(execFile);
let sluice: SluiceProc | undefined;
const out = tempDir('sluice-readiness-out-');

after(async () => {
  await sluice?.stop();
  sluice?.cleanup();
  fs.rmSync(out, { recursive: true, force: true });
});

test('bench readiness: 50 services 50 ms apart all become Ready; CSV, JSON and HTML are written and parse', async () => {
  sluice = await startSluice({ platform: true, store: 'sqlite', args: ['--http-port', '0', '--https-port', '0'], timeoutMs: 90_000 });
  const { stdout } = await run(process.execPath, [
    '--import', 'tsx', path.join(REPO, 'src/cli/main.ts'), 'bench', 'readiness',
    '--scenario', 'ci', '--kubeconfig', sluice.kubeconfig, '--state-dir', sluice.stateDir, '--output', out, '--cleanup',
  ], { cwd: REPO, timeout: 240_000, maxBuffer: 16 << 20, env: { ...process.env, SLUICE_LOG_LEVEL: 'warn', NODE_TEST_CONTEXT: '' } });

  const lines = stdout.trim().split('\n');
  const headline = JSON.parse(lines[lines.length - 1]!);
  assert.equal(headline.services, 50, `headline names 50 services: ${lines.at(-1)}`);
  assert.equal(headline.ready, 50, `every service became Ready: ${stdout}`);
  for (const k of ['service_ready_p50_ms', 'service_ready_p99_ms', 'ingress_minus_revision_p99_ms', 'growth_ratio']) {
    assert.equal(typeof headline[k], 'number', `headline has a number for ${k}: ${lines.at(-1)}`);
  }
  assert.match(stdout, /service_ready\s+50\s/, 'the console table has a service_ready row over 50 services');

  const csv = fs.readFileSync(path.join(out, 'readiness.csv'), 'utf8').trim().split('\n');
  assert.equal(csv.length, 51, 'CSV has a header and one row per service');
  const header = csv[0]!.split(',');
  const readyCol = header.indexOf('ready');
  assert.ok(readyCol >= 0 && csv.slice(1).every((r) => r.split(',')[readyCol] === 'true'), 'every CSV row says ready');
  const json = JSON.parse(fs.readFileSync(path.join(out, 'readiness.json'), 'utf8'));
  assert.equal(json.services.length, 50, 'JSON has 50 services');
  for (const m of ['service_ready', 'revision_ready', 'route_ready', 'ingress_ready', 'pod_scheduled', 'containers_ready', 'endpoints_ready', 'xds_acked']) {
    assert.equal(json.summaries[m]?.count, 50, `summary for ${m} covers every service`);
  }
  assert.equal(typeof json.run.machine.cores, 'number', 'the run records the core count');
  assert.ok(json.run.rss && Object.keys(json.run.rss).length > 0, 'RSS of the control process and gateway was sampled');
  const html = fs.readFileSync(path.join(out, 'readiness.html'), 'utf8');
  assert.match(html, /^<!doctype html>/, 'HTML report starts as a document');
  assert.match(html, /<svg[\s\S]*<\/svg>[\s\S]*<svg/, 'HTML report has the two charts');
  assert.match(html, /<\/html>\s*$/, 'HTML report is complete');
});
