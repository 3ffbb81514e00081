// sluice's process launcher: a small child of the control process that spawns pod processes for
// it (see launcher.ts). It is platform plumbing, never a pod: it holds no application code and
// starts nothing before it is asked. It exists because fork() cost grows with the parent's
// memory: spawning from the control process (hundreds of MB, busy) blocked its event loop for
// 10-50 ms per pod, on the cold-start path; this process is small and idle, so its spawns are
// cheap and the control process only writes one IPC message.
//
// Signals to pods go through here too ({ t: 'kill' }): this process is their parent, so it
// knows for certain that a pid has not been reaped yet (and so cannot belong to another process
// since); the control process learns of an exit only one message later, when the pid may
// already be reused (pid_max can be as low as 32768).
//
// Protocol (Node IPC, JSON):
//   in : { t: 'spawn', id, file, args, env, cwd?, log }   log = file the pod's stdout/stderr append to
//        { t: 'kill', id, signal }
//   out: { t: 'spawned', id, pid, startTime } | { t: 'error', id, code, message } | { t: 'exit', id, code, signal }
// When the control process goes away (IPC disconnect), every process group this launcher
// started is killed and reaped, and the launcher exits: pods never outlive sluice.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';

const live = new Map(); // id → ChildProcess, until reaped

function send(m) {
  if (process.connected) process.send(m);
}

/** Kernel start time of a process (field 22 of /proc/<pid>/stat), to recognise it later. */
function startTime(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** Signals the child's process group (or the child), only while it is not reaped. */
function signal(child, sig) {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  try { process.kill(-child.pid, sig); } catch { try { child.kill(sig); } catch { /* gone */ } }
}

function killAll() {
  for (const child of live.values()) signal(child, 'SIGKILL');
}

process.on('message', (m) => {
  if (!m) return;
  if (m.t === 'kill') {
    const child = live.get(m.id);
    if (child) signal(child, m.signal);
    return;
  }
  if (m.t !== 'spawn') return;
  let fd;
  try {
    fd = openSync(m.log, 'a');
  } catch (e) {
    send({ t: 'error', id: m.id, code: e.code ?? 'EIO', message: e.message });
    return;
  }
  let child;
  try {
    child = spawn(m.file, m.args, { cwd: m.cwd, env: m.env, detached: true, stdio: ['ignore', fd, fd] });
  } catch (e) {
    send({ t: 'error', id: m.id, code: e.code ?? 'EINVAL', message: e.message });
    return;
  } finally {
    closeSync(fd);
  }
  let done = false;
  child.once('error', (e) => {
    if (done || child.pid !== undefined) return; // after a spawn, 'exit' reports the end
    done = true;
    send({ t: 'error', id: m.id, code: e.code ?? 'EIO', message: e.message });
  });
  child.once('exit', (code, sig) => {
    if (done) return;
    done = true;
    live.delete(m.id);
    // Just reaped, in this same turn: the group may hold grandchildren, none may survive.
    try { process.kill(-child.pid, 'SIGKILL'); } catch { /* group already empty */ }
    send({ t: 'exit', id: m.id, code, signal: sig });
  });
  if (child.pid === undefined) return; // 'error' follows
  live.set(m.id, child);
  send({ t: 'spawned', id: m.id, pid: child.pid, startTime: startTime(child.pid) });
});

// Kill what is left, reap it (so no zombie is left to init), then exit.
function shutdown() {
  killAll();
  const end = Date.now() + 2000;
  const wait = () => { if (live.size === 0 || Date.now() > end) process.exit(0); else setTimeout(wait, 5); };
  wait();
}
process.on('disconnect', shutdown);
process.on('SIGTERM', shutdown);
send({ t: 'ready' });
