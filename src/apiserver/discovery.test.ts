/** Discovery with a group served at two versions (serving.knative.dev: v1, and v1beta1 for DomainMapping). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildDiscovery } from './discovery.ts';

test('a group with two versions is listed once, every version named, v1 preferred; each version has its resource list', () => {
  const d = buildDiscovery();
  const groups = (d.apiGroupList as { groups: { name: string; versions: { version: string }[]; preferredVersion: { version: string } }[] }).groups;
  const serving = groups.filter((g) => g.name === 'serving.knative.dev');
  assert.equal(serving.length, 1, 'listed once');
  assert.deepEqual(serving[0]!.versions.map((v) => v.version), ['v1', 'v1beta1'], 'both versions');
  assert.equal(serving[0]!.preferredVersion.version, 'v1', 'v1 preferred');
  assert.deepEqual((d.apiGroup.get('serving.knative.dev') as { versions: unknown[] }).versions.length, 2, 'APIGroup document names both');
  const v1beta1 = d.resourceList.get('serving.knative.dev/v1beta1') as { resources: { name: string; shortNames?: string[] }[] };
  assert.deepEqual(v1beta1.resources.map((r) => r.name), ['domainmappings', 'domainmappings/status'], 'v1beta1 resources');
  assert.deepEqual(v1beta1.resources[0]!.shortNames, ['dm'], 'short name');
  const v1 = d.resourceList.get('serving.knative.dev/v1') as { resources: { name: string }[] };
  assert.ok(v1.resources.some((r) => r.name === 'services') && !v1.resources.some((r) => r.name === 'domainmappings'), 'v1 keeps its kinds only');
  const agg = (d.aggregatedGroups as { items: { metadata: { name: string }; versions: { version: string; resources: { resource: string }[] }[] }[] }).items;
  const aggServing = agg.filter((i) => i.metadata.name === 'serving.knative.dev');
  assert.equal(aggServing.length, 1, 'aggregated: one item');
  assert.deepEqual(aggServing[0]!.versions.map((v) => [v.version, v.resources.map((r) => r.resource).includes('domainmappings')]), [['v1', false], ['v1beta1', true]], 'aggregated: versions in preference order');
});
