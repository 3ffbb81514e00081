import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ConditionSet, formatTime, getCondition, isConditionTrue, livingConditionSet, removeCondition,
  revisionConditions, serviceConditions, setCondition,
} from './conditions.ts';
import type { Condition } from './meta.ts';

const T0 = Date.UTC(2026, 0, 1, 0, 0, 0);
const T1 = T0 + 1500;
const T2 = T0 + 4000;

test('setCondition stamps lastTransitionTime and keeps it while the status stays', () => {
  let c = setCondition(undefined, { type: 'Ready', status: 'Unknown', reason: 'Deploying' }, T0);
  assert.deepEqual(c, [{ type: 'Ready', status: 'Unknown', reason: 'Deploying', lastTransitionTime: formatTime(T0) }]);
  c = setCondition(c, { type: 'Ready', status: 'Unknown', reason: 'StillDeploying', message: 'waiting' }, T1);
  assert.equal(getCondition(c, 'Ready')?.lastTransitionTime, formatTime(T0), 'same status keeps the time');
  assert.equal(getCondition(c, 'Ready')?.reason, 'StillDeploying');
  c = setCondition(c, { type: 'Ready', status: 'True' }, T2);
  assert.deepEqual(getCondition(c, 'Ready'), { type: 'Ready', status: 'True', lastTransitionTime: formatTime(T2) });
});

test('setCondition returns the same array when nothing changed and sorts by type', () => {
  const a = setCondition(undefined, { type: 'Ready', status: 'True' }, T0);
  assert.equal(setCondition(a, { type: 'Ready', status: 'True' }, T1), a);
  const b = setCondition(a, { type: 'Active', status: 'True' }, T1);
  assert.deepEqual(b.map((c) => c.type), ['Active', 'Ready']);
  assert.deepEqual(removeCondition(b, 'Active').map((c) => c.type), ['Ready']);
  assert.equal(formatTime(T1), '2026-01-01T00:00:01.500Z');
});

test('ConditionSet computes Ready from its dependents', () => {
  const cases: { name: string; deps: Condition['status'][]; want: Condition['status']; reason?: string }[] = [
    { name: 'all true', deps: ['True', 'True'], want: 'True' },
    { name: 'one unknown', deps: ['True', 'Unknown'], want: 'Unknown', reason: 'R1' },
    { name: 'one false wins over unknown', deps: ['Unknown', 'False'], want: 'False', reason: 'R1' },
    { name: 'first false reported', deps: ['False', 'False'], want: 'False', reason: 'R0' },
  ];
  for (const tc of cases) {
    const set = livingConditionSet('A', 'B');
    let conds = set.initialize(undefined, T0);
    tc.deps.forEach((s, i) => {
      const type = i === 0 ? 'A' : 'B';
      if (s === 'True') conds = set.markTrue(conds, type, T1);
      else if (s === 'False') conds = set.markFalse(conds, type, `R${i}`, `message ${i}`, T1);
      else conds = set.markUnknown(conds, type, `R${i}`, `message ${i}`, T1);
    });
    const ready = set.getTopLevel(conds);
    assert.equal(ready?.status, tc.want, tc.name);
    assert.equal(ready?.reason, tc.reason, tc.name);
    assert.equal(set.isHappy(conds), tc.want === 'True', tc.name);
  }
});

test('initialize adds missing conditions as Unknown and keeps existing ones', () => {
  const conds = serviceConditions.initialize([{ type: 'RoutesReady', status: 'False', reason: 'X', lastTransitionTime: 'old' }], T0);
  assert.deepEqual(conds.map((c) => `${c.type}=${c.status}`), ['ConfigurationsReady=Unknown', 'Ready=Unknown', 'RoutesReady=False']);
  assert.equal(getCondition(conds, 'RoutesReady')?.lastTransitionTime, 'old');
});

test('informational conditions carry severity Info and never touch Ready', () => {
  let conds = revisionConditions.initialize(undefined, T0);
  conds = revisionConditions.markTrue(conds, 'ResourcesAvailable', T1);
  conds = revisionConditions.markTrue(conds, 'ContainerHealthy', T1);
  assert.ok(isConditionTrue(conds, 'Ready'));
  conds = revisionConditions.markFalse(conds, 'Active', 'NoTraffic', 'The target is not receiving traffic.', T2);
  assert.equal(getCondition(conds, 'Active')?.severity, 'Info');
  assert.ok(isConditionTrue(conds, 'Ready'));
  assert.equal(getCondition(conds, 'Ready')?.lastTransitionTime, formatTime(T1));
});

test('a set without dependents is marked directly', () => {
  const set = new ConditionSet('Ready', []);
  let conds = set.initialize(undefined, T0);
  conds = set.markFalse(conds, 'Ready', 'RevisionFailed', 'boom', T1);
  assert.deepEqual(set.computeHappy(conds).status, 'False');
  conds = set.markTrue(conds, 'Ready', T2);
  assert.ok(set.isHappy(conds));
});
