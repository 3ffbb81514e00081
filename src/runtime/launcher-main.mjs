// sluice's process launcher: a small child of the control process that spawns pod processes for
// it (see launcher.ts). It is platform plumbing, never a pod: it holds no application code and
// starts nothing before it is asked. It exists because fork() cost grows with the parent's
// memory: spawning from the control process (hundreds of MB, busy) blocked its event loop for
// 10-50 ms per pod, on the cold-start path; this process is small and idle, so its spawns are
// cheap and the control process only writes one IPC message.
//
// Protocol (Node IPC, JSON):
//   in : { t: 'spawn', id, file, args, env, cwd?, log }   log = file the pod's stdout/stderr append to
//   out: { t: 'spawned', id, pid } | { t: 'error', id, code, message } | { t: 'exit', id, code, signal }
// When the control process goes away (IPC disconnect), every process group this launcher
// started is killed and the launcher exits: pods never outlive sluice.
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';

const live = new Map(); // id → pid

function send(m) {
  if (process.connected) process.send(m);
}

function killAll() {
  for (const pid of live.values()) {
    try { process.kill(-pid, 'SIGKILL'); } catch { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
  }
}

process.on('message', (m) => {
  if (!m || m.t !== 'spawn') return;
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
    live.delete(m.id);
    send({ t: 'error', id: m.id, code: e.code ?? 'EIO', message: e.message });
  });
  child.once('exit', (code, signal) => {
    if (done) return;
    done = true;
    live.delete(m.id);
    send({ t: 'exit', id: m.id, code, signal });
  });
  if (child.pid === undefined) return; // 'error' follows
  live.set(m.id, child.pid);
  send({ t: 'spawned', id: m.id, pid: child.pid });
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
