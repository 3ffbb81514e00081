/**
 * `sluice token create USER --namespace NS --role admin|edit|view [--state-dir DIR] [--kubeconfig FILE]`:
 * makes a bearer token for USER bound to ROLE in namespace NS (a RoleBinding to Kubernetes'
 * admin, edit or view ClusterRole) by adding it to STATE_DIR/tokens.yaml, and prints the token.
 * A running `sluice up` picks the new token up within a second, without a restart. With
 * --kubeconfig it also writes a kubeconfig for the token (server, CA and TLS name copied from the
 * admin kubeconfig of `sluice up`, default namespace NS). `--namespace` may be repeated to grant the role in several namespaces.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { parse } from 'yaml';
import { SluiceError } from '../../lib/errors.ts';
import { createUserToken, TOKENS_FILE, type Role } from '../../security/api-auth.ts';
import { io } from '../io.ts';
import { readKubeconfig, renderKubeconfig, type KubeconfigContext } from '../kubeconfig.ts';

export const TokenErrors = {
  /** `sluice token create` was given a user that already has a token in tokens.yaml. */
  UserExists: 'SLUICE_E_TOKEN_USER_EXISTS',
  /** `sluice token create --kubeconfig` found no API server address (no admin kubeconfig in the state dir and no --server). */
  NoServer: 'SLUICE_E_TOKEN_NO_SERVER',
} as const;

const SCOPED_ROLES: Role[] = ['admin', 'edit', 'view'];
/** Namespace names are DNS labels (RFC 1123), as Kubernetes requires. */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** User names: what a Kubernetes subject name may hold, without whitespace or control characters. */
const USER_NAME = /^[A-Za-z0-9][A-Za-z0-9._@:+-]{0,252}$/;

interface CreateOptions { namespace: string[]; role: Role; stateDir: string; kubeconfig?: string; server?: string }

function parseRole(v: string): Role {
  if (!SCOPED_ROLES.includes(v as Role)) throw new InvalidArgumentError(`"${v}" is not a namespace role; use one of ${SCOPED_ROLES.join(', ')}`);
  return v as Role;
}

function collectNamespace(v: string, prev: string[] = []): string[] {
  if (!DNS_LABEL.test(v)) throw new InvalidArgumentError(`"${v}" is not a namespace name (lowercase letters, digits and '-', at most 63 characters)`);
  return prev.includes(v) ? prev : [...prev, v];
}

function parseUser(v: string): string {
  if (!USER_NAME.test(v)) throw new InvalidArgumentError(`"${v}" is not a user name (letters, digits and . _ @ : + -, starting with a letter or digit)`);
  if (v === 'admin') throw new InvalidArgumentError('"admin" is the cluster-admin user `sluice up` makes; pick another name');
  return v;
}

/** Names of the users already in the tokens file (a malformed file is left to createUserToken to report). */
function existingUsers(stateDir: string): string[] {
  try {
    const doc = parse(fs.readFileSync(path.join(stateDir, TOKENS_FILE), 'utf8')) as { users?: { name?: unknown }[] } | null;
    return Array.isArray(doc?.users) ? doc.users.map((u) => String(u?.name)) : [];
  } catch {
    return [];
  }
}

/**
 * Where a new kubeconfig points: --server as given, else the cluster of the admin kubeconfig
 * `sluice up` wrote (https on the API port, with its CA and tls-server-name: kubectl sends tokens
 * only over TLS).
 */
function clusterFor(o: CreateOptions): KubeconfigContext {
  if (o.server) return { server: o.server.replace(/\/+$/, '') };
  const admin = readKubeconfig(path.join(o.stateDir, 'kubeconfig'));
  if (admin?.server) return { server: admin.server, caPem: admin.caPem, tlsServerName: admin.tlsServerName };
  throw new SluiceError(TokenErrors.NoServer, `--kubeconfig: no API server address: ${path.join(o.stateDir, 'kubeconfig')} does not exist (start \`sluice up --state-dir ${o.stateDir}\` first) and no --server was given`);
}

export function createToken(user: string, o: CreateOptions): { token: string; kubeconfig?: string } {
  const stateDir = path.resolve(o.stateDir);
  if (existingUsers(stateDir).includes(user)) {
    throw new SluiceError(TokenErrors.UserExists, `user "${user}" already has a token in ${path.join(stateDir, TOKENS_FILE)}; pick another name, or edit the file to change that user's bindings`);
  }
  // Resolve the server first so a failing --kubeconfig leaves tokens.yaml untouched.
  const cluster = o.kubeconfig ? clusterFor({ ...o, stateDir }) : undefined;
  const token = createUserToken(stateDir, { user, bindings: o.namespace.map((namespace) => ({ role: o.role, namespace })) });
  if (!o.kubeconfig || !cluster?.server) return { token };
  const file = path.resolve(o.kubeconfig);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, renderKubeconfig({ server: cluster.server, token, namespace: o.namespace[0], caPem: cluster.caPem, tlsServerName: cluster.tlsServerName }), { mode: 0o600 });
  fs.chmodSync(file, 0o600);
  return { token, kubeconfig: file };
}

export function register(program: Command): void {
  const token = program.command('token').description('manage API bearer tokens (STATE_DIR/tokens.yaml)');
  token
    .command('create')
    .description('make a token for USER with a role (admin, edit or view) in a namespace; prints the token')
    .argument('<user>', 'user name the token authenticates as (shown in 403 messages)', parseUser)
    .requiredOption('-n, --namespace <ns>', 'namespace the role is granted in (repeatable)', collectNamespace)
    .requiredOption('--role <role>', 'admin (everything in the namespace), edit (all but role bindings), view (read all but Secrets)', parseRole)
    .option('--state-dir <dir>', 'state dir of `sluice up` (holds tokens.yaml)', './.sluice')
    .option('--kubeconfig <file>', 'also write a kubeconfig (mode 0600) that uses the token, default namespace the first --namespace')
    .option('--server <url>', 'API server URL for --kubeconfig (default: the one in STATE_DIR/kubeconfig)')
    .action((user: string, o: CreateOptions) => {
      const r = createToken(user, o);
      io.out(`${r.token}\n`);
      if (r.kubeconfig) io.err(`kubeconfig for ${user} written to ${r.kubeconfig}\n`);
    });
}
