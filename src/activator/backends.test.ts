import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Endpoints } from '../api/types/core.ts';
import { readyBackends, unionBackendSource, type Backend, type BackendSource } from './backends.ts';

const ep: Endpoints = {
  apiVersion: 'v1', kind: 'Endpoints', metadata: { namespace: 'default', name: 'hello-00001' },
  subsets: [
    { addresses: [{ ip: '127.0.0.1', targetRef: { kind: 'Pod', name: 'a', namespace: 'default' } }], ports: [{ name: 'http', port: 4001 }] },
    { notReadyAddresses: [{ ip: '127.0.0.1', targetRef: { kind: 'Pod', name: 'b', namespace: 'default' } }], ports: [{ name: 'http', port: 4002 }] },
    { addresses: [{ ip: '127.0.0.2' }], ports: [{ port: 4003 }] },
  ],
};

test('ready addresses only, one backend per pod, named by pod (or address)', () => {
  assert.deepEqual(readyBackends(ep), [
    { id: 'default/a', host: '127.0.0.1', port: 4001 },
    { id: '127.0.0.2:4003', host: '127.0.0.2', port: 4003 },
  ], 'not-ready pod b is left out');
  assert.deepEqual(readyBackends(undefined), [], 'no Endpoints → no backends');
});

test('union: first source wins per id, a change in any source is a change', () => {
  const mk = (bs: Backend[]): BackendSource & { fire(k: string): void } => {
    const fns = new Set<(k: string) => void>();
    return { backends: () => bs, onChange: (f) => { fns.add(f); return () => fns.delete(f); }, fire: (k) => { for (const f of fns) f(k); } };
  };
  const a = mk([{ id: 'default/a', host: '127.0.0.1', port: 1 }]);
  const b = mk([{ id: 'default/a', host: '127.0.0.1', port: 2 }, { id: 'default/c', host: '127.0.0.1', port: 3 }]);
  const u = unionBackendSource(a, b);
  assert.deepEqual(u.backends('k').map((x) => `${x.id}:${x.port}`), ['default/a:1', 'default/c:3'], 'deduplicated by id');
  const seen: string[] = [];
  const off = u.onChange((k) => seen.push(k));
  a.fire('x'); b.fire('y');
  off();
  a.fire('z');
  assert.deepEqual(seen, ['x', 'y'], 'both sources notify until unsubscribed');
});
