import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ImageTable, normalizeImage, BUILTIN_IMAGES } from './image-table.ts';
import { parseMemory, applyMemoryLimit } from './memory-limit.ts';

test('normalizeImage drops tags, digests and docker.io/library prefixes (table)', () => {
  const cases: [string, string][] = [
    ['gcr.io/knative-samples/helloworld-go', 'gcr.io/knative-samples/helloworld-go'],
    ['gcr.io/knative-samples/helloworld-go:latest', 'gcr.io/knative-samples/helloworld-go'],
    ['ghcr.io/knative/helloworld-go@sha256:' + 'a'.repeat(64), 'ghcr.io/knative/helloworld-go'],
    ['ghcr.io/knative/helloworld-go:v1@sha256:' + 'b'.repeat(64), 'ghcr.io/knative/helloworld-go'],
    ['localhost:5000/app', 'localhost:5000/app'],
    ['docker.io/library/nginx:1.25', 'nginx'],
  ];
  for (const [img, want] of cases) assert.equal(normalizeImage(img), want, img);
});

test('image table: Knative samples map to hello; spec command/args override; user images (table)', () => {
  const t = new ImageTable({ 'example.com/app': { command: ['/usr/bin/env', 'python3', 'app.py'], args: ['--fast'], workingDir: '/srv' } });
  const hello = BUILTIN_IMAGES['sluice/hello'].command;
  const cases: { c: Parameters<ImageTable['resolve']>[0]; want: Partial<ReturnType<ImageTable['resolve']>> }[] = [
    { c: { image: 'gcr.io/knative-samples/helloworld-go:latest' }, want: { file: hello[0], args: hello.slice(1), source: 'image-table', isNode: true } },
    { c: { image: 'ghcr.io/knative/helloworld-go' }, want: { file: hello[0], args: hello.slice(1) } },
    { c: { image: 'example.com/app:2' }, want: { file: '/usr/bin/env', args: ['python3', 'app.py', '--fast'], workingDir: '/srv', isNode: false } },
    { c: { image: 'example.com/app', args: ['--slow'], workingDir: '/tmp' }, want: { args: ['python3', 'app.py', '--slow'], workingDir: '/tmp' } },
    { c: { image: 'anything/at-all', command: ['node', 'x.js'], args: ['-v'] }, want: { file: 'node', args: ['x.js', '-v'], source: 'container', isNode: true } },
  ];
  for (const { c, want } of cases) {
    const got = t.resolve(c);
    for (const [k, v] of Object.entries(want)) assert.deepEqual(got[k as keyof typeof got], v, `${c.image}: ${k}`);
  }
  assert.throws(() => t.resolve({ image: 'example.com/missing:1' }), (e: Error & { code?: string }) =>
    e.code === 'SLUICE_E_IMAGE_NOT_FOUND' && /"example\.com\/missing:1"/.test(e.message) && /images:/.test(e.message));
});

test('bad image entries and memory quantities are refused with what and where (table)', () => {
  const bad: [unknown, RegExp][] = [
    [{ args: ['x'] }, /images\["x\/y"\]: command is required/],
    [{ command: 'run', bogus: 1 }, /unknown field "bogus"/],
    [{ command: [1, 2] }, /command must be a list of strings/],
    ['node app.js', /must be a mapping/],
  ];
  for (const [entry, re] of bad) assert.throws(() => new ImageTable({ 'x/y': entry }, 'sluice.yaml: images'), re);
  assert.equal(parseMemory('128Mi'), 128 * 1024 * 1024);
  assert.equal(parseMemory('1G'), 1e9);
  assert.throws(() => parseMemory('lots'), /"lots" is not a memory quantity/);
  assert.throws(() => parseMemory('1Ki'), /below the 4Mi minimum/);
  const node = applyMemoryLimit({ file: process.execPath, args: ['app.mjs'], isNode: true, source: 'image-table' }, 256 * 1024 * 1024);
  assert.deepEqual(node.args, ['--max-old-space-size=192', 'app.mjs']);
  const other = applyMemoryLimit({ file: '/bin/sleep', args: ['1'], isNode: false, source: 'container' }, 64 * 1024 * 1024);
  assert.ok(other.enforcement.includes('rss-watchdog'));
  if (other.enforcement.includes('rlimit-as')) assert.deepEqual(other.args.slice(0, 2), [`--as=${64 * 1024 * 1024}`, '--']);
});
