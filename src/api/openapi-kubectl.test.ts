/**
 * The machine's kubectl reads sluice's OpenAPI documents: `kubectl explain` over v3 (the default)
 * and over v2 protobuf (`--output=plaintext-openapiv2`). A minimal discovery server built from the
 * kind registry stands in for the API server so this checks the documents alone.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { openapiV2Document, openapiV3Document, openapiV3Paths } from './openapi.ts';
import { openapiV2Protobuf } from './openapi-v2-proto.ts';
import { KINDS, apiVersionOf, type KindInfo } from './registry.ts';

const run = promisify(execFile);
const KUBECTL = ['/usr/bin/kubectl', '/usr/local/bin/kubectl'].find((p) => fs.existsSync(p));

let server: http.Server;
let base = '';
let cacheDir = '';

function discovery(): Map<string, KindInfo[]> {
  const gvs = new Map<string, KindInfo[]>();
  for (const k of KINDS) gvs.set(apiVersionOf(k), [...(gvs.get(apiVersionOf(k)) ?? []), k]);
  return gvs;
}

before(async () => {
  if (!KUBECTL) return;
  const gvs = discovery();
  cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-openapi-kubectl-'));
  server = http.createServer((req, res) => {
    const p = new URL(req.url ?? '/', 'http://x').pathname;
    const json = (code: number, o: unknown) => { res.writeHead(code, { 'Content-Type': 'application/json' }); res.end(JSON.stringify(o)); };
    if (p === '/api') return json(200, { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] });
    if (p === '/apis') {
      return json(200, { kind: 'APIGroupList', apiVersion: 'v1', groups: [...gvs.keys()].filter((gv) => gv.includes('/')).map((gv) => {
        const [name, version] = gv.split('/') as [string, string];
        return { name, versions: [{ groupVersion: gv, version }], preferredVersion: { groupVersion: gv, version } };
      }) });
    }
    const gv = p === '/api/v1' ? 'v1' : p.startsWith('/apis/') ? p.slice('/apis/'.length) : '';
    const kinds = gvs.get(gv);
    if (kinds) {
      return json(200, { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: gv, resources: kinds.map((k) => ({
        name: k.plural, singularName: k.singular, namespaced: k.namespaced, kind: k.kind, shortNames: k.shortNames, verbs: ['get', 'list', 'create', 'update', 'patch', 'delete', 'watch'],
      })) });
    }
    if (p === '/openapi/v2') {
      if ((req.headers.accept ?? '').includes('protobuf')) {
        // As kube-openapi does: the protobuf body goes out as octet-stream (Go's mime parser rejects the '@' type).
        res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
        return res.end(openapiV2Protobuf());
      }
      return json(200, openapiV2Document());
    }
    if (p === '/openapi/v3') return json(200, openapiV3Paths());
    const doc = p.startsWith('/openapi/v3/') ? openapiV3Document(p.slice('/openapi/v3/'.length)) : undefined;
    if (doc) return json(200, doc);
    return json(404, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', code: 404, reason: 'NotFound', message: `${p} not found` });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  if (cacheDir) fs.rmSync(cacheDir, { recursive: true, force: true });
});

async function explain(...args: string[]): Promise<string> {
  const { stdout } = await run(KUBECTL!, ['--server', base, '--cache-dir', cacheDir, '--request-timeout', '20s', 'explain', ...args], { timeout: 30_000 });
  return stdout;
}

test('kubectl explain reads the v3 documents', { skip: KUBECTL ? false : 'kubectl is not installed' }, async () => {
  const spec = await explain('ksvc.spec');
  assert.match(spec, /GROUP:\s+serving\.knative\.dev/);
  assert.match(spec, /KIND:\s+Service/);
  assert.match(spec, /template\s+<Object>/);
  assert.match(spec, /traffic\s+<\[\]Object>/);
  const image = await explain('ksvc.spec.template.spec.containers.image');
  assert.match(image, /FIELD: image <string>/);
  const mode = await explain('peerauthentications.spec.mtls.mode');
  assert.match(mode, /STRICT/);
  const root = await explain('vs');
  for (const f of ['apiVersion', 'kind', 'metadata', 'spec', 'status']) assert.match(root, new RegExp(`\\n\\s+${f}\\s+<`));
});

test('kubectl explain reads the v2 protobuf document', { skip: KUBECTL ? false : 'kubectl is not installed' }, async () => {
  const traffic = await explain('ksvc.spec.traffic', '--output=plaintext-openapiv2');
  assert.match(traffic, /RESOURCE: traffic <\[\]Object>/);
  assert.match(traffic, /revisionName\s+<string>/);
  const ports = await explain('pods.spec.containers.ports', '--output=plaintext-openapiv2');
  assert.match(ports, /containerPort\s+<integer> -required-/);
});
