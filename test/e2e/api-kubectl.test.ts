/**
 * The machine's kubectl against `sluice up`: apply (with kubectl's default validation), get ksvc
 * with Knative's columns, get -w sees another client's update, a second apply is "unchanged",
 * delete -f removes the service.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { REPO, SERVICES, call, startSluice, tempDir, type SluiceProc } from './api-harness.ts';

const run = promisify(execFile);
const KUBECTL = fs.existsSync('/usr/bin/kubectl') ? '/usr/bin/kubectl' : 'kubectl';
const HELLO = path.join(REPO, 'examples/hello.yaml');

let s: SluiceProc;
let cacheDir: string;
before(async () => {
  s = await startSluice({ store: 'memory' });
  cacheDir = tempDir('sluice-kubectl-cache-');
});
after(async () => {
  await s?.stop();
  s?.cleanup();
  if (cacheDir) fs.rmSync(cacheDir, { recursive: true, force: true });
});

function kargs(args: string[]): string[] {
  return ['--kubeconfig', s.kubeconfig, '--cache-dir', cacheDir, '--request-timeout', '20s', ...args];
}
async function kubectl(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  try {
    return await run(KUBECTL, kargs(args), { timeout: 30_000 });
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    throw new Error(`kubectl ${args.join(' ')} failed: ${err.message}\nstdout: ${err.stdout}\nstderr: ${err.stderr}`);
  }
}

test('kubectl apply, get, get -w, re-apply, delete', async () => {
  const applied = await kubectl('apply', '-f', HELLO);
  assert.match(applied.stdout, /^service\.serving\.knative\.dev\/hello created$/m);

  const got = await kubectl('get', 'ksvc');
  const header = got.stdout.split('\n')[0].trim().split(/\s+/);
  assert.deepEqual(header, ['NAME', 'URL', 'LATESTCREATED', 'LATESTREADY', 'READY', 'REASON']);
  assert.match(got.stdout.split('\n')[1], /^hello\s/);

  // get -w: wait for the first row, then update the service from another client.
  const watcher = spawn(KUBECTL, kargs(['get', 'ksvc', 'hello', '-w']), { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let errOut = '';
  watcher.stderr.on('data', (d: Buffer) => { errOut += d.toString(); });
  const sawLine = (re: RegExp): Promise<void> => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`kubectl get -w never printed ${re}; stdout: ${out}; stderr: ${errOut}`)), 20_000);
    const check = (): void => { if (re.test(out)) { clearTimeout(timer); resolve(); } };
    watcher.stdout.on('data', (d: Buffer) => { out += d.toString(); check(); });
    check();
  });
  try {
    await sawLine(/^hello\s/m);
    const status = {
      status: {
        url: 'http://hello.default.sluice.localhost',
        latestCreatedRevisionName: 'hello-00001',
        latestReadyRevisionName: 'hello-00001',
        conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') }],
      },
    };
    const r = await call(s, 'PATCH', `${SERVICES}/hello/status`, status, { 'Content-Type': 'application/merge-patch+json' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    await sawLine(/^hello\s+http:\/\/hello\.default\.sluice\.localhost\s+hello-00001\s+hello-00001\s+True/m);
  } finally {
    watcher.kill('SIGTERM');
  }

  const again = await kubectl('apply', '-f', HELLO);
  assert.match(again.stdout, /^service\.serving\.knative\.dev\/hello unchanged$/m);

  const deleted = await kubectl('delete', '-f', HELLO);
  assert.match(deleted.stdout, /^service\.serving\.knative\.dev "hello" deleted$/m);
  const gone = await call(s, 'GET', `${SERVICES}/hello`);
  assert.equal(gone.status, 404);
});
