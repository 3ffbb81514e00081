import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeKubeProtobuf } from './protobuf-body.ts';
import { StatusError } from './status.ts';

// Minimal protobuf encoder for the fixtures: length-delimited fields and varints.
const varint = (n: number): Buffer => {
  const out: number[] = [];
  do { let b = n & 0x7f; n >>>= 7; if (n) b |= 0x80; out.push(b); } while (n);
  return Buffer.from(out);
};
const ld = (no: number, payload: Buffer | string): Buffer => {
  const b = typeof payload === 'string' ? Buffer.from(payload) : payload;
  return Buffer.concat([varint((no << 3) | 2), varint(b.length), b]);
};
const vi = (no: number, v: number): Buffer => Buffer.concat([varint(no << 3), varint(v)]);
const entry = (no: number, k: string, v: Buffer | string): Buffer => ld(no, Buffer.concat([ld(1, k), ld(2, v)]));
const envelope = (apiVersion: string, kind: string, raw: Buffer): Buffer =>
  Buffer.concat([Buffer.from('k8s\0', 'binary'), ld(1, Buffer.concat([ld(1, apiVersion), ld(2, kind)])), ld(2, raw), ld(3, ''), ld(4, '')]);

test('decodes a Secret with metadata, data, stringData and type (empty strings mean unset)', () => {
  const meta = Buffer.concat([ld(1, 's1'), ld(2, ''), ld(3, 'foo'), entry(11, 'app', 'x'), entry(12, 'note', 'y')]);
  const raw = Buffer.concat([ld(1, meta), entry(2, 'a', Buffer.from([0xff, 0x00])), ld(3, 'Opaque'), entry(4, 's', 'plain'), vi(5, 1)]);
  const obj = decodeKubeProtobuf(envelope('v1', 'Secret', raw));
  assert.deepEqual(obj, {
    apiVersion: 'v1', kind: 'Secret',
    metadata: { name: 's1', namespace: 'foo', labels: { app: 'x' }, annotations: { note: 'y' } },
    data: { a: '/wA=' }, type: 'Opaque', stringData: { s: 'plain' }, immutable: true,
  });
});

test('decodes a Namespace with finalizers', () => {
  const raw = Buffer.concat([ld(1, ld(1, 'ns1')), ld(2, ld(1, 'kubernetes'))]);
  assert.deepEqual(decodeKubeProtobuf(envelope('v1', 'Namespace', raw)), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ns1' }, spec: { finalizers: ['kubernetes'] } });
});

test('other kinds are 415; a body without the envelope or truncated is 400', () => {
  const err = (fn: () => unknown): StatusError => { try { fn(); } catch (e) { assert.ok(e instanceof StatusError); return e; } return assert.fail('expected failure'); };
  assert.equal(err(() => decodeKubeProtobuf(envelope('v1', 'Pod', ld(1, ld(1, 'p'))))).status.code, 415);
  assert.equal(err(() => decodeKubeProtobuf(Buffer.from('{"a":1}'))).status.code, 400);
  assert.equal(err(() => decodeKubeProtobuf(Buffer.concat([Buffer.from('k8s\0', 'binary'), Buffer.from([0x0a, 0x10, 0x01])]))).status.code, 400);
});
