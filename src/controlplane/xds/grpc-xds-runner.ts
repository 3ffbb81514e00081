/**
 * Runs grpc-xds-child.ts (a proxyless @grpc/grpc-js-xds client) in a child process bootstrapped
 * against an xDS server address, and returns how many calls each backend answered.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface GrpcXdsResult { counts: Record<string, number>; errors: number; lastError: string; done: number; fatal?: string }

const here = path.dirname(fileURLToPath(import.meta.url));

/** Runs grpc-xds-child.ts against `xdsAddress`; resolves to its JSON result. */
export function runGrpcXdsClient(xdsAddress: string, target: string, calls: number, node: { id: string; metadata?: Record<string, string> }, timeoutMs = 90_000): Promise<GrpcXdsResult> {
  const bootstrap = {
    xds_servers: [{ server_uri: xdsAddress, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
    node: { id: node.id, locality: {}, metadata: node.metadata ?? {} },
  };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(here, 'grpc-xds-child.ts'), target, String(calls), String(timeoutMs - 5_000)], {
      env: { ...process.env, GRPC_XDS_BOOTSTRAP_CONFIG: JSON.stringify(bootstrap) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`grpc-js-xds child timed out; stderr: ${err.slice(-2000)}`)); }, timeoutMs);
    child.on('exit', () => {
      clearTimeout(timer);
      const line = out.trim().split('\n').pop() ?? '';
      try { resolve(JSON.parse(line)); } catch { reject(new Error(`grpc-js-xds child printed no result: ${out} ${err.slice(-2000)}`)); }
    });
  });
}

