/**
 * Serving end to end with the machine's kubectl against the real `sluice up` (API server, SQLite
 * store, serving controllers, runtime, xDS control plane and gateway proxy): a hello Service
 * becomes Ready (only once the gateway ACKed its route) and answers through the gateway by its
 * host and on its pod's port; `kubectl get ksvc/pods` show URL, READY and restarts; an env
 * change makes 00002 while 00001 stays; a 90/10 split with a tag shows in Route status with its
 * URLs and the gateway serves the tag's host; deleting leaves no process. Then the control
 * process is killed with SIGKILL (a crash) and a new one on the same state dir kills the
 * orphaned pod process and converges again.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { REPO, tempDir, until } from './api-harness.ts';

const run = promisify(execFile);
const KUBECTL = fs.existsSync('/usr/bin/kubectl') ? '/usr/bin/kubectl' : 'kubectl';
const stateDir = tempDir('sluice-serving-e2e-');
const cacheDir = tempDir('sluice-kubectl-cache-');
const children: ChildProcess[] = [];

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

async function startControl(): Promise<ChildProcess> {
  const proc = spawn(process.execPath, ['--import', 'tsx', path.join(REPO, 'src/cli/main.ts'), 'up', '--state-dir', stateDir, '--api-port', '0', '--http-port', '0', '--https-port', '0'], {
    cwd: REPO, env: { ...process.env, SLUICE_LOG_LEVEL: 'warn', NODE_TEST_CONTEXT: '' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(proc);
  let out = '';
  proc.stdout!.on('data', (d) => { out += d; });
  proc.stderr!.on('data', (d) => { out += d; });
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`sluice up not ready in 60 s:\n${out}`)), 60_000);
    proc.stdout!.on('data', () => { if (out.includes('sluice ready')) { clearTimeout(t); resolve(); } });
    proc.once('exit', (c) => { clearTimeout(t); reject(new Error(`control process exited with ${c}:\n${out}`)); });
  });
  return proc;
}

/** GET through the gateway with a Host header (no DNS needed for *.sluice.localhost). */
async function viaGateway(host: string, p = '/'): Promise<{ status: number; body: string }> {
  const ep = JSON.parse(fs.readFileSync(path.join(stateDir, 'endpoints.json'), 'utf8')) as Record<string, string>;
  // fetch() may not set Host (a forbidden header), so this uses node:http.
  return new Promise((resolve, reject) => {
    const req = http.get(`${ep.gateway}${p}`, { headers: { host }, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${host}${p} via the gateway timed out`)));
    req.on('error', reject);
  });
}

async function kubectl(...args: string[]): Promise<string> {
  const { stdout } = await run(KUBECTL, ['--kubeconfig', path.join(stateDir, 'kubeconfig'), '--cache-dir', cacheDir, ...args], { timeout: 60_000 });
  return stdout;
}
async function getJson(...args: string[]): Promise<any> { return JSON.parse(await kubectl('get', ...args, '-o', 'json')); }

const podPids = async (svc: string): Promise<number[]> => {
  const dir = path.join(stateDir, 'pids');
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.startsWith(`default_${svc}-`)).map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')).pid as number) : [];
};

after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) { c.kill('SIGTERM'); await new Promise((r) => c.once('exit', r)); }
  fs.rmSync(stateDir, { recursive: true, force: true });
  fs.rmSync(cacheDir, { recursive: true, force: true });
});

test('kubectl: hello Ready, pod answers, env change makes 00002, delete leaves no process, crash + restart converges', async () => {
  let cp = await startControl();
  await kubectl('apply', '-f', path.join(REPO, 'examples/hello.yaml'));
  await kubectl('wait', '--for=condition=Ready', 'ksvc/hello', '--timeout=60s');
  const ksvc = await kubectl('get', 'ksvc', 'hello');
  assert.match(ksvc, /hello\s+http:\/\/hello\.default\.sluice\.localhost\s+hello-00001\s+hello-00001\s+True/);
  const pods = await getJson('pods', '-l', 'serving.knative.dev/service=hello');
  assert.equal(pods.items.length, 1);
  const pod = pods.items[0];
  assert.equal(pod.status.phase, 'Running');
  assert.equal(pod.status.containerStatuses[0].ready, true);
  const port = Number(pod.metadata.annotations['sluice.dev/port']);
  assert.equal(await (await fetch(`http://127.0.0.1:${port}/`)).text(), 'Hello sluice!\n');
  assert.deepEqual(await viaGateway('hello.default.sluice.localhost'), { status: 200, body: 'Hello sluice!\n' }, 'the gateway routes the Service URL host to its pod');
  assert.equal((await viaGateway('nope.default.sluice.localhost')).status, 404, 'an unknown host is not routed');
  const podTable = await kubectl('get', 'pods');
  assert.match(podTable, new RegExp(`${pod.metadata.name}\\s+1/1\\s+Running\\s+0`));

  // Env change → 00002, 00001 stays.
  await kubectl('patch', 'ksvc', 'hello', '--type=merge', '-p', JSON.stringify({ spec: { template: { spec: { containers: [{ name: 'user-container', image: 'sluice/hello', env: [{ name: 'TARGET', value: 'v2' }] }] } } } }));
  await until('hello-00002 ready', async () => (await getJson('ksvc', 'hello')).status?.latestReadyRevisionName === 'hello-00002' || undefined);
  const revs = await getJson('revisions');
  assert.deepEqual(revs.items.map((r: any) => r.metadata.name).sort(), ['hello-00001', 'hello-00002']);
  await until('gateway serves 00002', async () => ((await viaGateway('hello.default.sluice.localhost')).body === 'Hello v2!\n' ? true : undefined));

  // 90/10 split between the two revisions, with a tag on the old one.
  await kubectl('patch', 'ksvc', 'hello', '--type=merge', '-p', JSON.stringify({ spec: { traffic: [
    { revisionName: 'hello-00002', percent: 90 },
    { revisionName: 'hello-00001', percent: 10, tag: 'old' },
  ] } }));
  const route = await until('route status shows the split', async () => {
    const r = await getJson('routes.serving.knative.dev', 'hello');
    return r.status?.traffic?.length === 2 && r.status.traffic.some((t: any) => t.tag === 'old') ? r : undefined;
  });
  const byRev = Object.fromEntries(route.status.traffic.map((t: any) => [t.revisionName, t]));
  assert.equal(byRev['hello-00002'].percent, 90);
  assert.equal(byRev['hello-00001'].percent, 10);
  assert.equal(byRev['hello-00001'].url, 'http://old-hello.default.sluice.localhost');
  await kubectl('wait', '--for=condition=Ready', 'ksvc/hello', '--timeout=60s');
  await until('tag host routed', async () => ((await viaGateway('old-hello.default.sluice.localhost')).body === 'Hello sluice!\n' ? true : undefined));
  await kubectl('patch', 'ksvc', 'hello', '--type=json', '-p', JSON.stringify([{ op: 'remove', path: '/spec/traffic' }]));

  // Crash the control process: pods keep running, then a new one on the same state dir kills them and converges.
  const before = await podPids('hello');
  assert.ok(before.length >= 1 && before.every(alive));
  const gatewayPid = Number(JSON.parse(fs.readFileSync(path.join(stateDir, 'endpoints.json'), 'utf8')).gatewayPid);
  assert.ok(gatewayPid > 0 && alive(gatewayPid), 'the gateway proxy runs');
  cp.kill('SIGKILL');
  await new Promise((r) => cp.once('exit', r));
  await until('the crashed control process\'s gateway proxy exits (no orphan)', async () => (!alive(gatewayPid) ? true : undefined));
  cp = await startControl();
  await until('orphaned pod processes killed', async () => (before.every((p) => !alive(p)) ? true : undefined));
  await kubectl('wait', '--for=condition=Ready', 'ksvc/hello', '--timeout=60s');
  const after2 = await until('new pod running', async () => {
    const ps = await podPids('hello');
    return ps.length >= 1 && ps.every(alive) && ps.every((p) => !before.includes(p)) ? ps : undefined;
  });

  // Delete → no pod process left.
  await kubectl('delete', 'ksvc', 'hello');
  await until('pod processes gone', async () => (after2.every((p) => !alive(p)) ? true : undefined));
  await until('pod objects gone', async () => ((await getJson('pods')).items.length === 0 ? true : undefined));
});
