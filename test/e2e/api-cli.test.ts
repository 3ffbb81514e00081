/** The sluice CLI against `sluice up`: apply/get/delete like kubectl, errors naming file:line, clean SIGTERM. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { io } from '../../src/cli/io.ts';
import { main } from '../../src/cli/program.ts';
import { REPO, startSluice, tempDir, type SluiceProc } from './api-harness.ts';

let s: SluiceProc;
let dir: string;
before(async () => {
  s = await startSluice({ store: 'sqlite' });
  dir = tempDir('sluice-cli-');
});
after(async () => {
  await s?.stop();
  s?.cleanup();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** Runs the CLI in-process (the server is the real child process), capturing what it prints. */
async function sluice(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const saved = { out: io.out, err: io.err };
  let stdout = '';
  let stderr = '';
  io.out = (t) => { stdout += t; };
  io.err = (t) => { stderr += t; };
  try {
    const code = await main(['node', 'sluice', ...args, '--state-dir', s.stateDir]);
    return { code, stdout, stderr };
  } finally {
    io.out = saved.out;
    io.err = saved.err;
  }
}

test('apply, get, delete with kubectl-style output', async () => {
  const hello = path.join(REPO, 'examples/hello.yaml');
  assert.match((await sluice('apply', '-f', hello)).stdout, /^service\.serving\.knative\.dev\/hello created$/m);
  assert.match((await sluice('apply', '-f', hello)).stdout, /^service\.serving\.knative\.dev\/hello unchanged$/m);
  const changed = path.join(dir, 'hello2.yaml');
  fs.writeFileSync(changed, fs.readFileSync(hello, 'utf8').replace('value: "sluice"', 'value: "changed"'));
  assert.match((await sluice('apply', '-f', changed)).stdout, /^service\.serving\.knative\.dev\/hello configured$/m);

  const table = await sluice('get', 'ksvc');
  assert.equal(table.code, 0, table.stderr);
  assert.deepEqual(table.stdout.split('\n')[0].trim().split(/\s+/), ['NAME', 'URL', 'LATESTCREATED', 'LATESTREADY', 'READY', 'REASON']);
  assert.match(table.stdout, /^hello\s/m);
  const all = await sluice('get', 'ksvc', '-A');
  assert.match(all.stdout, /^NAMESPACE\s+NAME/);
  const yaml = await sluice('get', 'ksvc', 'hello', '-o', 'yaml');
  assert.match(yaml.stdout, /^kind: Service$/m);
  assert.match(yaml.stdout, /value: changed/);
  const json = JSON.parse((await sluice('get', 'ns', '-o', 'json')).stdout);
  assert.ok(json.items.some((o: any) => o.metadata.name === 'default'));

  assert.match((await sluice('delete', '-f', hello)).stdout, /^service\.serving\.knative\.dev "hello" deleted$/m);
  const gone = await sluice('delete', 'ksvc', 'hello');
  assert.equal(gone.code, 1);
  assert.match(gone.stderr, /Error from server \(NotFound\)/);
  const empty = await sluice('get', 'ksvc');
  assert.match(empty.stderr, /No resources found in default namespace/);
});

test('apply errors name the file and line; the server\'s Status message is shown', async () => {
  const bad = path.join(dir, 'bad.yaml');
  fs.writeFileSync(bad, 'apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata:\n  name: ok-one\nspec:\n  template:\n    spec:\n      containers:\n      - image: sluice/hello\n---\napiVersion: serving.knative.dev/v1\nkind: Service\nmetadata:\n  name: no-image\nspec:\n  template:\n    spec:\n      containers:\n      - {}\n');
  const r = await sluice('apply', '-f', bad);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /service\.serving\.knative\.dev\/ok-one created/);
  assert.match(r.stderr, new RegExp(`Error from server \\(Invalid\\): ${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:11: .*spec\\.template\\.spec\\.containers\\[0\\]\\.image`));
  const unknown = path.join(dir, 'unknown.yaml');
  fs.writeFileSync(unknown, '# c\napiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n');
  const u = await sluice('apply', '-f', unknown);
  assert.equal(u.code, 1);
  assert.match(u.stderr, new RegExp(`${unknown.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2: unknown kind "Widget"`));
  const syntax = path.join(dir, 'syntax.yaml');
  fs.writeFileSync(syntax, 'apiVersion: v1\nkind: [\n');
  assert.match((await sluice('apply', '-f', syntax)).stderr, /syntax\.yaml:\d+:\d+: invalid YAML/);
});

test('SIGTERM shuts sluice up down cleanly (exit 0, endpoints.json removed)', async () => {
  const other = await startSluice({ store: 'memory' });
  try {
    assert.ok(fs.existsSync(path.join(other.stateDir, 'endpoints.json')));
    assert.equal(await other.stop(), 0);
    assert.equal(fs.existsSync(path.join(other.stateDir, 'endpoints.json')), false);
    assert.match(fs.readFileSync(path.join(other.stateDir, 'kubeconfig'), 'utf8'), /current-context: sluice/);
  } finally {
    other.cleanup();
  }
});
