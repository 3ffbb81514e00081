import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeBody, jsonErrorOffset, mediaType } from './decode-body.ts';
import { StatusError } from './status.ts';

function failure(fn: () => unknown): StatusError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof StatusError, `expected a StatusError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected a failure');
}

test('mediaType strips parameters and case', () => {
  assert.equal(mediaType('Application/JSON; charset=utf-8'), 'application/json');
  assert.equal(mediaType(undefined), '');
});

test('jsonErrorOffset finds the first bad character', () => {
  assert.equal(jsonErrorOffset('{"a": }'), 6);
  assert.equal(jsonErrorOffset('{"a":1}}'), 7);
  assert.equal(jsonErrorOffset('[1,2,]'), 5);
  assert.equal(jsonErrorOffset('{"a":1}'), -1);
  assert.equal(jsonErrorOffset('{"a":'), 5);
});

test('malformed JSON is a 400 naming line and column', () => {
  const e = failure(() => decodeBody(Buffer.from('{\n  "kind": "Service",\n  "spec": tru\n}'), 'json'));
  assert.equal(e.status.code, 400);
  assert.equal(e.status.reason, 'BadRequest');
  assert.match(e.status.message!, /line 3, column 11/);
});

test('malformed YAML is a 400 naming line and column', () => {
  const e = failure(() => decodeBody(Buffer.from('kind: Service\nmetadata:\n  name: [a\n'), 'yaml'));
  assert.equal(e.status.code, 400);
  assert.match(e.status.message!, /malformed YAML body at line \d+, column \d+/);
});

test('YAML and JSON bodies decode to objects; several YAML documents are refused', () => {
  assert.deepEqual(decodeBody(Buffer.from('a: 1\nb: [x]\n'), 'yaml'), { a: 1, b: ['x'] });
  assert.deepEqual(decodeBody(Buffer.from('{"a":1}'), 'json'), { a: 1 });
  const e = failure(() => decodeBody(Buffer.from('a: 1\n---\nb: 2\n'), 'yaml'));
  assert.match(e.status.message!, /2 documents/);
  assert.equal(failure(() => decodeBody(Buffer.from('  '), 'json')).status.code, 400);
});
