/**
 * `sluice ui [--state-dir DIR] [-n NS] [--server URL] [--token TOKEN]`: prints the URL of the
 * dashboard the running `sluice up` serves at /ui, with the bearer token (by default the admin
 * token of STATE_DIR/kubeconfig) in the URL fragment. Browsers never send the fragment to the
 * server; the page moves the token into the tab's sessionStorage and clears the address bar.
 */
import path from 'node:path';
import type { Command } from 'commander';
import { addConnectionOptions, resolveServer, resolveToken, type ConnectionOptions } from '../api-client.ts';
import { io } from '../io.ts';

interface UiOptions extends ConnectionOptions { namespace?: string }

/** The dashboard URL for an API server URL, a token and a namespace (both optional). */
export function dashboardUrl(server: string, token: string | undefined, namespace?: string): string {
  const fragment = new URLSearchParams();
  if (token) fragment.set('token', token);
  if (namespace) fragment.set('ns', namespace);
  const f = fragment.toString();
  return `${server.replace(/\/+$/, '')}/ui/${f ? `#${f}` : ''}`;
}

export function register(program: Command): void {
  const cmd = program
    .command('ui')
    .description('print the URL of the web dashboard (read-only), with the API token in its #fragment')
    .option('-n, --namespace <ns>', 'namespace the page shows first (default: all namespaces)');
  addConnectionOptions(cmd).action((o: UiOptions) => {
    const server = resolveServer(o);
    const token = resolveToken(o);
    io.out(`${dashboardUrl(server, token, o.namespace)}\n`);
    if (!token) io.err(`no token found (no --token, no $SLUICE_TOKEN, none in ${path.resolve(o.stateDir, 'kubeconfig')}): the page will ask for one\n`);
    else io.err('open it in a browser on this machine; the URL carries an API token, do not share it\n');
  });
}
