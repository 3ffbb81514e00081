import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseLabelSelector } from './label-selector.ts';
import { parseFieldSelector } from './field-selector.ts';

const m = (sel: string, labels?: Record<string, string>): boolean => parseLabelSelector(sel).matches(labels);

describe('label selector', () => {
  it('matches every Kubernetes operator', () => {
    assert.equal(m('', undefined), true);
    assert.equal(m('a', { a: '' }), true);
    assert.equal(m('a', {}), false);
    assert.equal(m('!a', {}), true);
    assert.equal(m('!a', { a: 'x' }), false);
    assert.equal(m('a=x', { a: 'x' }), true);
    assert.equal(m('a==x', { a: 'y' }), false);
    assert.equal(m('a!=x', {}), true, '!= matches objects without the label');
    assert.equal(m('a!=x', { a: 'x' }), false);
    assert.equal(m('a in (x, y)', { a: 'y' }), true);
    assert.equal(m('a in (x,y)', {}), false);
    assert.equal(m('a notin (x)', {}), true, 'notin matches objects without the label');
    assert.equal(m('a notin (x)', { a: 'x' }), false);
    assert.equal(m('a=', { a: '' }), true, 'empty value');
    assert.equal(m('n>3', { n: '4' }), true);
    assert.equal(m('n<3', { n: '4' }), false);
    assert.equal(m('n>3', { n: 'four' }), false);
    assert.equal(m('app.kubernetes.io/name=web, tier in (front)', { 'app.kubernetes.io/name': 'web', tier: 'front' }), true);
    assert.equal(m('a=x,b=y', { a: 'x' }), false, 'comma is AND');
  });

  it('names the bad token and its position', () => {
    const bad = (sel: string, re: RegExp) => assert.throws(() => parseLabelSelector(sel), (e: unknown) => {
      assert.equal((e as { code: string }).code, 'SLUICE_E_BAD_REQUEST');
      assert.match((e as Error).message, re);
      return true;
    });
    bad('a in x', /found "x" at position 5, expected "\(" after "in"/);
    bad('a in ()', /found "\)" at position 6, expected at least one value/);
    bad('a in (x y)', /found "y" at position 8/);
    bad('a,', /found end of string at position 2, expected a label key/);
    bad('a=b=c', /found "=" at position 3/);
    bad('!', /expected a label key after "!"/);
    bad('n>x', /expected an integer after ">"/);
    bad('Bad_Prefix/x=1', /key "Bad_Prefix\/x"/);
    bad(`a=${'v'.repeat(64)}`, /is not a valid label value/);
  });
});

describe('field selector', () => {
  it('matches metadata.name and metadata.namespace', () => {
    const o = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'n', namespace: 'ns' } };
    assert.equal(parseFieldSelector('metadata.name=n').matches(o), true);
    assert.equal(parseFieldSelector('metadata.name = n, metadata.namespace!=ns').matches(o), false);
    assert.equal(parseFieldSelector('').matches(o), true);
    assert.throws(() => parseFieldSelector('status.phase=Running'), /field label "status\.phase" not supported/);
    assert.throws(() => parseFieldSelector('metadata.name=a=b'), /contains an operator character/);
  });
});
