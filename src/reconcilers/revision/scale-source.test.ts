import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Revision } from '../../api/types/knative.ts';
import { initialScale, resumedScale } from './scale-source.ts';

const rev = (status?: object, annotations: Record<string, string> = {}): Revision =>
  ({ apiVersion: 'serving.knative.dev/v1', kind: 'Revision', metadata: { name: 'r', namespace: 'ns', annotations }, spec: { containers: [{ image: 'x' }] }, ...(status ? { status } : {}) }) as unknown as Revision;

test('resumedScale: a revision that reached its initial scale resumes at its last desired scale; a new one has none', () => {
  const available = { type: 'ResourcesAvailable', status: 'True', lastTransitionTime: '2026-12-07T00:00:00Z' };
  assert.equal(resumedScale(rev({ desiredReplicas: 0, conditions: [available] })), 0, 'scaled to zero: stays at zero');
  assert.equal(resumedScale(rev({ desiredReplicas: 3, conditions: [available] })), 3);
  assert.equal(resumedScale(rev()), undefined, 'no status: a new revision');
  assert.equal(resumedScale(rev({ desiredReplicas: 1, conditions: [{ ...available, status: 'Unknown' }] })), undefined, 'never available: not past its initial scale');
  assert.equal(resumedScale(rev({ conditions: [available] })), undefined, 'no desiredReplicas recorded');
  assert.equal(resumedScale(rev({ desiredReplicas: -1, conditions: [available] })), undefined, 'a bad value is ignored');
  assert.equal(initialScale(rev(undefined, { 'autoscaling.knative.dev/initial-scale': '2' })), 2);
});
