import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { PodCpuSampler, parseCpuQuantity, readProcCpuTicks } from './pod-cpu.ts';

test('CPU quantities: millicores and cores; bad ones name the field', () => {
  assert.equal(parseCpuQuantity('500m', 'x'), 0.5, '500m');
  assert.equal(parseCpuQuantity('2', 'x'), 2, '2 cores');
  assert.equal(parseCpuQuantity(0.25, 'x'), 0.25, 'a YAML number');
  assert.throws(() => parseCpuQuantity('lots', 'spec.containers[0].resources.requests.cpu'), /spec\.containers\[0\]\.resources\.requests\.cpu: invalid CPU quantity "lots"/, 'names the field');
  assert.throws(() => parseCpuQuantity('0', 'x'), /SLUICE_E_CPU_REQUEST|invalid CPU quantity/, 'zero is not a request');
});

test('utilization from tick deltas over wall time and the request; first sample spans the life of the pod', () => {
  let ticks = 50;
  const s = new PodCpuSampler(() => ticks);
  const pod = { podId: 'p', pid: 42, startedAt: 0, ready: true, readySince: 100 };
  // 50 ticks = 0.5 s CPU over 1 s since start, request 0.5 cores → 100 %.
  assert.deepEqual(s.sample([pod], 0.5, 1000), [{ podId: 'p', ready: true, readySince: 100, cpuUtilization: 100, sampledFrom: 0 }], 'first sample since start');
  ticks = 60; // 0.1 s CPU in the next 1 s → 10 % of a full core, 20 % of 0.5
  assert.equal(s.sample([pod], 0.5, 2000)[0]!.cpuUtilization, 20, 'delta since the last sample');
  assert.deepEqual(s.sample([{ ...pod, pid: undefined }], 0.5, 3000), [{ podId: 'p', ready: true, readySince: 100 }], 'no process → no sample (missing)');
});

test('reads a real busy process from /proc', async () => {
  const child = spawn(process.execPath, ['-e', 'const end = Date.now() + 400; while (Date.now() < end) {}']);
  try {
    await new Promise((r) => setTimeout(r, 300));
    const t = readProcCpuTicks(child.pid!);
    assert.ok(t !== undefined && t > 0, `a busy process has CPU ticks, got ${t}`);
  } finally { child.kill('SIGKILL'); }
  assert.equal(readProcCpuTicks(2 ** 22 + 12345), undefined, 'a pid that does not exist reads as undefined');
});
