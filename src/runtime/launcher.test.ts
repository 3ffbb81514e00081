import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { realClock } from '../lib/clock.ts';
import { ProcessLauncher, type SpawnEvents } from './launcher.ts';
import { PodProcess, type PodState } from './pod-process.ts';
import { isAlive } from './pid-registry.ts';
import { freePort } from './runtime.ts';
import { BUILTIN_IMAGES } from './image-table.ts';

/** Gone for good: no such process, or a zombie (dead, waiting for its new parent to reap it). */
function gone(pid: number): boolean {
  if (!isAlive(pid)) return true;
  try { return /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8')); } catch { return true; }
}

type Ev = { t: 'spawned'; pid: number } | { t: 'failed'; code: string } | { t: 'exited'; code: number | null; signal: string | null };

function recorder(): { ev: SpawnEvents; events: Ev[]; next(pred: (e: Ev) => boolean, what: string): Promise<Ev> } {
  const events: Ev[] = [];
  const ev: SpawnEvents = {
    spawned: (pid) => events.push({ t: 'spawned', pid }),
    failed: (e) => events.push({ t: 'failed', code: e.code }),
    exited: (code, signal) => events.push({ t: 'exited', code, signal }),
  };
  const next = async (pred: (e: Ev) => boolean, what: string): Promise<Ev> => {
    const end = Date.now() + 10_000;
    for (;;) {
      const e = events.find(pred);
      if (e) return e;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}; events: ${JSON.stringify(events)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  return { ev, events, next };
}

test('the launcher spawns a process, appends its output to the log file, reports pid and exit code; a missing executable fails with ENOENT', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-launcher-'));
  const l = new ProcessLauncher();
  try {
    await l.start();
    assert.equal(l.active, true, 'the launcher process is up and used');
    const a = recorder();
    const log = join(dir, 'a.log');
    l.spawn({ file: process.execPath, args: ['-e', 'console.log("out line"); console.error("err line"); process.exit(7)'], env: { PATH: process.env.PATH ?? '' }, logPath: log }, a.ev);
    const spawned = await a.next((e) => e.t === 'spawned', 'spawned');
    assert.ok(spawned.t === 'spawned' && spawned.pid > 0, 'a pid is reported');
    const exited = await a.next((e) => e.t === 'exited', 'exited');
    assert.deepEqual(exited, { t: 'exited', code: 7, signal: null }, 'exit code comes back from the launcher');
    assert.match(readFileSync(log, 'utf8'), /out line\n(.|\n)*err line/, 'stdout and stderr land in the log file');

    // Signals go through the launcher (the pod's parent, which knows it is not reaped yet).
    const c = recorder();
    const h = l.spawn({ file: process.execPath, args: ['-e', 'setInterval(() => {}, 1000)'], env: {}, logPath: join(dir, 'c.log') }, c.ev);
    const cs = await c.next((e) => e.t === 'spawned', 'spawned');
    h.kill('SIGTERM');
    assert.deepEqual(await c.next((e) => e.t === 'exited', 'exited on SIGTERM'), { t: 'exited', code: null, signal: 'SIGTERM' }, 'the kill reached the process group');
    assert.ok(gone((cs as { pid: number }).pid), 'reaped');
    h.kill('SIGKILL'); // after the exit: the launcher has forgotten it and signals nothing

    const b = recorder();
    l.spawn({ file: '/nonexistent/app', args: [], env: {}, logPath: join(dir, 'b.log') }, b.ev);
    const failed = await b.next((e) => e.t === 'failed', 'failed');
    assert.deepEqual(failed, { t: 'failed', code: 'ENOENT' }, 'a missing executable is reported as ENOENT');
    assert.equal(b.events.some((e) => e.t === 'spawned'), false, 'never reported as running');
  } finally {
    await l.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('when the launcher dies its pods are killed and reported as SIGKILLed; later spawns run from this process', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-launcher-'));
  const l = new ProcessLauncher();
  try {
    await l.start();
    const a = recorder();
    l.spawn({ file: process.execPath, args: ['-e', 'setInterval(() => {}, 1000)'], env: {}, logPath: join(dir, 'a.log') }, a.ev);
    const s = await a.next((e) => e.t === 'spawned', 'spawned');
    const pid = (s as { pid: number }).pid;
    assert.ok(isAlive(pid), 'the pod runs');
    const launcherPid = (l as unknown as { child: { pid: number } }).child.pid;
    process.kill(launcherPid, 'SIGKILL');
    const exited = await a.next((e) => e.t === 'exited', 'exited after the launcher died');
    assert.deepEqual(exited, { t: 'exited', code: null, signal: 'SIGKILL' });
    for (let i = 0; i < 100 && !gone(pid); i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(gone(pid), 'the orphaned pod is killed');
    assert.equal(l.active, false, 'the launcher is no longer used');
    const b = recorder();
    l.spawn({ file: process.execPath, args: ['-e', 'process.exit(0)'], env: {}, logPath: join(dir, 'b.log') }, b.ev);
    assert.equal(b.events[0]?.t, 'spawned', 'the fallback spawns at once, in this process');
    assert.deepEqual(await b.next((e) => e.t === 'exited', 'fallback exit'), { t: 'exited', code: 0, signal: null });
  } finally {
    await l.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a pod started through the launcher becomes ready, answers, and drains on stop; closing the launcher ends what it still runs', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-launcher-'));
  const l = new ProcessLauncher();
  await l.start();
  const hello = BUILTIN_IMAGES['sluice/hello']!.command;
  const port = await freePort();
  const states: PodState[] = [];
  const p = new PodProcess({
    namespace: 'default', name: 'p1', port, file: hello[0]!, args: hello.slice(1), env: { PATH: process.env.PATH ?? '', PORT: String(port) },
    stateDir: dir, clock: realClock, spawner: l, onChange: (s) => states.push(s),
  });
  try {
    p.start();
    assert.equal(states.length, 0, 'not running before the launcher answers');
    for (let i = 0; i < 500 && !states.some((s) => s.ready); i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(states.some((s) => s.ready), 'ready through the launcher');
    assert.equal(await (await fetch(`http://127.0.0.1:${port}/`)).text(), 'Hello World!\n');
    const pid = p.pid!;
    await p.stop(5_000);
    assert.equal(states.at(-1)?.lastTermination?.exitCode, 0, 'drained on SIGTERM, exit code from the launcher');
    assert.equal(isAlive(pid), false);

    const q = recorder();
    l.spawn({ file: process.execPath, args: ['-e', 'setInterval(() => {}, 1000)'], env: {}, logPath: join(dir, 'q.log') }, q.ev);
    const qpid = ((await q.next((e) => e.t === 'spawned', 'spawned')) as { pid: number }).pid;
    await l.close();
    for (let i = 0; i < 100 && !gone(qpid); i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(isAlive(qpid), false, 'the launcher kills and reaps what it runs when it is closed');
  } finally {
    await p.stop(100);
    await l.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
