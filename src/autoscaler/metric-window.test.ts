import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeClock } from '../lib/clock.ts';
import { isSluiceError } from '../lib/errors.ts';
import { MetricWindow, StablePanicWindows } from './metric-window.ts';

const S = 1000;
describe('MetricWindow', () => {
  it('averages per-second buckets over the window, summing values within a bucket', () => {
    const c = new FakeClock();
    const w = new MetricWindow(10 * S);
    for (let i = 0; i < 10; i++) { w.record(c.now(), 2); w.record(c.now(), 3); c.advance(S); } // two pods: 5 per second
    assert.equal(w.average(c.now() - 1), 5);
    for (let i = 0; i < 5; i++) { w.record(c.now(), 15); c.advance(S); }
    // Last 10 buckets: five of 5 and five of 15.
    assert.equal(w.average(c.now() - 1), 10);
    assert.equal(w.average(c.now() - 1, 5 * S), 15);
  });

  it('averages over written buckets only while the series is younger than the window', () => {
    const c = new FakeClock();
    const w = new MetricWindow(60 * S);
    w.record(c.now(), 6);
    c.advance(S);
    w.record(c.now(), 2);
    assert.equal(w.average(c.now()), 4);
  });

  it('reports no data once a whole window passed without writes, and restarts afterwards', () => {
    const c = new FakeClock();
    const w = new MetricWindow(10 * S);
    w.record(c.now(), 8);
    c.advance(9 * S);
    assert.equal(w.average(c.now()), 8, 'the gap after the last write is not counted as zeros');
    c.advance(S);
    assert.equal(w.average(c.now()), undefined);
    assert.equal(w.isEmpty(c.now()), true);
    w.record(c.now(), 1);
    assert.equal(w.average(c.now()), 1);
  });

  it('counts recorded zeros, so a reporting idle revision averages down to zero', () => {
    const c = new FakeClock();
    const w = new MetricWindow(4 * S);
    for (const v of [4, 0, 0, 0, 0]) { w.record(c.now(), v); c.advance(S); }
    assert.equal(w.average(c.now() - 1), 0);
  });

  it('reads stable and panic windows from the same buckets', () => {
    const c = new FakeClock();
    const sp = new StablePanicWindows(60 * S, 6 * S);
    for (let i = 0; i < 54; i++) { sp.record(c.now(), 10); c.advance(S); }
    for (let i = 0; i < 6; i++) { sp.record(c.now(), 70); c.advance(S); }
    const o = sp.observe(c.now() - 1)!;
    assert.equal(o.panic, 70);
    assert.equal(o.stable, 16);
    assert.equal(new StablePanicWindows(60 * S, 6 * S).observe(c.now()), undefined);
  });

  it('rejects bad windows and values', () => {
    assert.throws(() => new MetricWindow(0), (e) => isSluiceError(e, 'SLUICE_E_METRIC_WINDOW'));
    assert.throws(() => new StablePanicWindows(6 * S, 60 * S), (e) => isSluiceError(e, 'SLUICE_E_METRIC_WINDOW') && /panic window/.test(e.message));
    assert.throws(() => new MetricWindow(S).record(0, NaN), (e) => isSluiceError(e, 'SLUICE_E_METRIC_WINDOW'));
  });
});

describe('StablePanicWindows: a bucket still filling up is not read alone', () => {
  it('a 1-bucket panic window reads the last complete second while pods have not reported in this one', () => {
    const sp = new StablePanicWindows(6 * S, 1 * S);
    // Two pods, each reporting 4 once a second at its own phase (t = x.2 s and x.7 s).
    for (let sec = 0; sec < 5; sec++) { sp.record(sec * S + 200, 4); sp.record(sec * S + 700, 4); }
    // At 5.1 s nobody has reported in second 5 yet: the panic value is second 4's total, not 0.
    assert.equal(sp.observe(5 * S + 100)!.panic, 8, 'last complete second');
    // At 5.3 s one pod has reported: still 8 (the complete second is larger than the partial one).
    sp.record(5 * S + 200, 4);
    assert.equal(sp.observe(5 * S + 300)!.panic, 8, 'partial second does not under-count');
  });

  it('a value just recorded counts at once when it is larger (scale from zero on the activator\'s report)', () => {
    const sp = new StablePanicWindows(6 * S, 1 * S);
    for (let sec = 0; sec < 3; sec++) sp.record(sec * S + 500, 0);
    sp.record(3 * S + 100, 1);
    const o = sp.observe(3 * S + 100)!;
    assert.equal(o.panic, 1, 'the activator\'s report in the current second');
    assert.ok(o.stable > 0, 'stable sees it too');
  });
});
