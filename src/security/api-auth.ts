/**
 * API access control for the API server: bearer tokens and role bindings kept in
 * `STATE_DIR/tokens.yaml` (mode 0600), with Kubernetes' default user-facing roles:
 *
 *  - cluster-admin: everything, everywhere (bound to the group `system:masters` by `sluice up`);
 *  - admin: everything in the namespace, Secrets and role bindings included;
 *  - edit: read and write everything in the namespace except roles and role bindings;
 *  - view: read everything in the namespace except Secrets (and roles/role bindings).
 *
 * A binding with a namespace grants the role there (a RoleBinding); without one, in every
 * namespace (a ClusterRoleBinding to the same ClusterRole). Creating or deleting Namespaces and
 * other cluster-scoped writes need cluster-admin. Discovery, version, openapi and health paths
 * are open to every authenticated user. Denials produce Kubernetes Status objects with the exact
 * messages kube-apiserver writes.
 *
 * File format:
 *   users:
 *     - { name: admin, token: <random>, groups: [system:masters] }
 *     - { name: alice, token: <random> }
 *   bindings:
 *     - { role: cluster-admin, subjects: [{ kind: Group, name: system:masters }] }
 *     - { role: edit, namespace: b, subjects: [{ kind: User, name: alice }] }
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, statSync, writeFileSync, chmodSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import type { Status } from '../api/meta.ts';
import { kindById, resourceId, type KindInfo } from '../api/registry.ts';
import { SecurityErrors, securityError } from './security-errors.ts';

export const TOKENS_FILE = 'tokens.yaml';
export const ROLES = ['cluster-admin', 'admin', 'edit', 'view'] as const;
export type Role = (typeof ROLES)[number];
export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';
const READ_VERBS: readonly string[] = ['get', 'list', 'watch'];

export interface User { name: string; groups: string[] }
export interface Subject { kind: 'User' | 'Group'; name: string }
export interface Binding { role: Role; namespace?: string; subjects: Subject[] }
export interface TokenUser { name: string; token: string; groups?: string[] }
export interface AuthConfig { users: TokenUser[]; bindings: Binding[] }

export interface ResourceAttributes {
  verb: Verb;
  /** registry resourceId(): `serving.knative.dev/services`, `core/secrets`, `rbac.authorization.k8s.io/rolebindings`. */
  resource: string;
  namespace?: string;
  name?: string;
  subresource?: string;
}
export interface NonResourceAttributes { verb?: 'get'; path: string }
export type RequestAttributes = ResourceAttributes | NonResourceAttributes;
export interface AuthzResult { allowed: boolean; reason: string }

/** Paths every authenticated user may read (Kubernetes' system:discovery / system:public-info-viewer). */
const OPEN_PATHS = [/^\/api\/?$/, /^\/api\/v1\/?$/, /^\/apis\/?$/, /^\/apis\/[^/]+\/?$/, /^\/apis\/[^/]+\/[^/]+\/?$/, /^\/version\/?$/, /^\/openapi(\/.*)?$/, /^\/healthz$/, /^\/livez$/, /^\/readyz$/];
const RBAC_RESOURCES = ['rbac.authorization.k8s.io/rolebindings', 'rbac.authorization.k8s.io/roles'];
const isNonResource = (a: RequestAttributes): a is NonResourceAttributes => 'path' in a;
const sha = (t: string) => createHash('sha256').update(t).digest('hex');

/** The verbs a role grants on a resource (namespaced rules only; cluster-admin is handled apart). */
function roleAllows(role: Role, a: ResourceAttributes): boolean {
  if (role === 'cluster-admin' || role === 'admin') return true;
  if (RBAC_RESOURCES.includes(a.resource)) return false;
  if (role === 'edit') return true;
  // view
  return READ_VERBS.includes(a.verb) && a.resource !== 'core/secrets';
}

function validateConfig(raw: unknown, file: string): AuthConfig {
  const fail = (field: string, msg: string, code: string = SecurityErrors.AuthTokensFile) => securityError(code as never, `${file}: ${field}: ${msg}`);
  if (raw === null || raw === undefined) return { users: [], bindings: [] };
  if (typeof raw !== 'object' || Array.isArray(raw)) throw fail('(top level)', 'must be a mapping with users and bindings');
  const o = raw as Record<string, unknown>;
  for (const k of Object.keys(o)) if (k !== 'users' && k !== 'bindings') throw fail(k, 'unknown field; expected users and bindings');
  const users = (o.users ?? []) as unknown[];
  const bindings = (o.bindings ?? []) as unknown[];
  if (!Array.isArray(users)) throw fail('users', 'must be a list');
  if (!Array.isArray(bindings)) throw fail('bindings', 'must be a list');
  const seen = new Map<string, string>();
  users.forEach((u, i) => {
    const x = u as Record<string, unknown>;
    if (typeof x?.name !== 'string' || x.name === '') throw fail(`users[${i}].name`, 'required');
    if (typeof x.token !== 'string' || x.token.length < 16) throw fail(`users[${i}].token`, 'required, at least 16 characters');
    if (x.groups !== undefined && (!Array.isArray(x.groups) || x.groups.some((g) => typeof g !== 'string'))) throw fail(`users[${i}].groups`, 'must be a list of strings');
    const h = sha(x.token);
    if (seen.has(h)) throw fail(`users[${i}].token`, `the same token is already given to user ${seen.get(h)}`);
    seen.set(h, x.name);
  });
  bindings.forEach((b, i) => {
    const x = b as Record<string, unknown>;
    if (!ROLES.includes(x?.role as Role)) throw fail(`bindings[${i}].role`, `unknown role ${JSON.stringify(x?.role)}; use one of ${ROLES.join(', ')}`, SecurityErrors.AuthBadBinding);
    if (x.role === 'cluster-admin' && x.namespace !== undefined) throw fail(`bindings[${i}].namespace`, 'cluster-admin is cluster-wide; remove the namespace or bind admin instead', SecurityErrors.AuthBadBinding);
    if (x.namespace !== undefined && (typeof x.namespace !== 'string' || x.namespace === '')) throw fail(`bindings[${i}].namespace`, 'must be a namespace name', SecurityErrors.AuthBadBinding);
    if (!Array.isArray(x.subjects) || x.subjects.length === 0) throw fail(`bindings[${i}].subjects`, 'needs at least one subject ({ kind: User|Group, name })', SecurityErrors.AuthBadBinding);
    (x.subjects as Record<string, unknown>[]).forEach((s, j) => {
      if ((s?.kind !== 'User' && s?.kind !== 'Group') || typeof s.name !== 'string' || s.name === '') throw fail(`bindings[${i}].subjects[${j}]`, 'must be { kind: User or Group, name }', SecurityErrors.AuthBadBinding);
    });
  });
  return { users: users as TokenUser[], bindings: bindings as Binding[] };
}

export class ApiAuth {
  private byTokenHash = new Map<string, User>();
  private bindings: Binding[] = [];
  /** mtime, size and inode of the file last read, to notice edits cheaply (also on coarse-timestamp file systems). */
  private stamp = '';

  private constructor(private readonly file: string | undefined, config?: AuthConfig) {
    if (config) this.apply(validateConfig(config, '<config>'));
  }

  /** Reads `stateDir/tokens.yaml` (absent file: no users, every request is 401). */
  static load(stateDir: string): ApiAuth {
    const a = new ApiAuth(path.join(stateDir, TOKENS_FILE));
    a.reload();
    return a;
  }

  static fromConfig(config: AuthConfig): ApiAuth {
    return new ApiAuth(undefined, config);
  }

  /** Re-reads the file; on a bad file it throws and the previous tokens stay in force. */
  reload(): void {
    if (!this.file) return;
    if (!existsSync(this.file)) { this.apply({ users: [], bindings: [] }); this.stamp = 'absent'; return; }
    const st = statSync(this.file);
    let raw: unknown;
    try {
      raw = parse(readFileSync(this.file, 'utf8'));
    } catch (e) {
      throw securityError(SecurityErrors.AuthTokensFile, `${this.file}: not valid YAML: ${(e as Error).message}`, { cause: e });
    }
    this.apply(validateConfig(raw, this.file));
    this.stamp = `${st.mtimeMs}:${st.size}:${st.ino}`;
  }

  /** Reloads when the file changed since the last read (cheap: one stat); errors keep the old state. */
  reloadIfChanged(): Error | undefined {
    if (!this.file) return undefined;
    try {
      const st = existsSync(this.file) ? statSync(this.file) : undefined;
      if ((st ? `${st.mtimeMs}:${st.size}:${st.ino}` : 'absent') !== this.stamp) this.reload();
      return undefined;
    } catch (e) {
      return e as Error;
    }
  }

  private apply(c: AuthConfig): void {
    const m = new Map<string, User>();
    for (const u of c.users) m.set(sha(u.token), { name: u.name, groups: [...new Set([...(u.groups ?? []), 'system:authenticated'])] });
    this.byTokenHash = m;
    this.bindings = c.bindings;
  }

  /**
   * The user of an `Authorization: Bearer <token>` header, or undefined (→ 401). Tokens are looked
   * up by their SHA-256, so the comparison does not leak how much of a token matched.
   */
  authenticate(authorizationHeader: string | undefined): User | undefined {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorizationHeader ?? '');
    return m ? this.byTokenHash.get(sha(m[1])) : undefined;
  }

  /** RBAC decision for an authenticated user. */
  authorize(user: User, attrs: RequestAttributes): AuthzResult {
    const subjectOf = (s: Subject) => (s.kind === 'User' ? s.name === user.name : user.groups.includes(s.name));
    const mine = this.bindings.filter((b) => b.subjects.some(subjectOf));
    if (mine.some((b) => b.role === 'cluster-admin')) return { allowed: true, reason: `user ${user.name} is cluster-admin` };
    if (isNonResource(attrs)) {
      const ok = (attrs.verb ?? 'get') === 'get' && OPEN_PATHS.some((re) => re.test(attrs.path));
      return ok ? { allowed: true, reason: `${attrs.path} is open to authenticated users` } : { allowed: false, reason: `${attrs.path} needs cluster-admin` };
    }
    const kind = kindById(attrs.resource);
    const clusterScoped = kind ? !kind.namespaced : false;
    // A Namespace object is addressed by its own name: GET /api/v1/namespaces/b is in namespace b.
    const ns = attrs.resource === 'core/namespaces' ? (attrs.verb === 'get' || attrs.verb === 'watch' ? attrs.name : undefined) : attrs.namespace;
    for (const b of mine) {
      if (clusterScoped && attrs.resource !== 'core/namespaces') continue;
      if (attrs.resource === 'core/namespaces' && !READ_VERBS.includes(attrs.verb)) continue; // creating/deleting namespaces: cluster-admin only
      const inScope = b.namespace === undefined || (ns !== undefined && b.namespace === ns);
      if (inScope && roleAllows(b.role, attrs)) return { allowed: true, reason: `role ${b.role}${b.namespace ? ` in namespace ${b.namespace}` : ' in every namespace'}` };
    }
    return { allowed: false, reason: mine.length === 0 ? `user ${user.name} has no role bindings` : `no binding of user ${user.name} grants ${attrs.verb} on ${attrs.resource}${attrs.namespace ? ` in ${attrs.namespace}` : ''}` };
  }
}

/**
 * The RBAC verb of an API request, as kube-apiserver's RequestInfo derives it: GET on a name is
 * get, on a collection list, with `watch=true` (or 1) watch; POST create; PUT update; PATCH patch;
 * DELETE on a name delete, on a collection deletecollection. Undefined for other methods.
 */
export function verbFor(method: string, req: { name?: string; watch?: string | boolean | null }): Verb | undefined {
  const watch = req.watch === true || req.watch === 'true' || req.watch === '1';
  switch (method.toUpperCase()) {
    case 'GET': case 'HEAD': return watch ? 'watch' : req.name ? 'get' : 'list';
    case 'POST': return 'create';
    case 'PUT': return 'update';
    case 'PATCH': return 'patch';
    case 'DELETE': return req.name ? 'delete' : 'deletecollection';
    default: return undefined;
  }
}

/**
 * ResourceAttributes of a parsed API request (the API server's ResourceRequest shape: namespace
 * '' for cluster-scoped kinds and all-namespace lists). Undefined for methods RBAC has no verb for.
 */
export function resourceAttributes(method: string, r: { kind: Pick<KindInfo, 'group' | 'plural'>; namespace: string; name?: string; subresource?: string; legacyWatch?: boolean }, watchParam?: string | null): ResourceAttributes | undefined {
  const verb = verbFor(method, { name: r.name, watch: r.legacyWatch ? true : watchParam });
  if (!verb) return undefined;
  return {
    verb,
    resource: resourceId(r.kind),
    ...(r.namespace ? { namespace: r.namespace } : {}),
    ...(r.name ? { name: r.name } : {}),
    ...(r.subresource ? { subresource: r.subresource } : {}),
  };
}

/** Kubernetes' 401 Status (kube-apiserver answers exactly this). */
export function unauthorizedStatus(): Status {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 };
}

/** Kubernetes' 403 Status with kube-apiserver's message. */
export function forbiddenStatus(user: User, attrs: RequestAttributes): Status {
  if (isNonResource(attrs)) {
    return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `forbidden: User "${user.name}" cannot ${attrs.verb ?? 'get'} path "${attrs.path}"`, reason: 'Forbidden', details: {}, code: 403 };
  }
  const slash = attrs.resource.indexOf('/');
  const group = slash < 0 || attrs.resource.slice(0, slash) === 'core' ? '' : attrs.resource.slice(0, slash);
  const plural = slash < 0 ? attrs.resource : attrs.resource.slice(slash + 1);
  const qualified = group ? `${plural}.${group}` : plural;
  const res = attrs.subresource ? `${plural}/${attrs.subresource}` : plural;
  const where = attrs.namespace ? ` in the namespace "${attrs.namespace}"` : ' at the cluster scope';
  const named = attrs.name ? `${qualified} "${attrs.name}"` : qualified;
  const message = `${named} is forbidden: User "${user.name}" cannot ${attrs.verb} resource "${res}" in API group "${group}"${where}`;
  const details: NonNullable<Status['details']> = { group, kind: plural };
  if (attrs.name) details.name = attrs.name;
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason: 'Forbidden', details, code: 403 };
}

/**
 * One call for the API server: undefined when the request may proceed, else the Status to answer
 * (401 without a known token, 403 when no binding allows it).
 */
export function statusFor(auth: ApiAuth, authorizationHeader: string | undefined, attrs: RequestAttributes): { user?: User; status?: Status } {
  const user = auth.authenticate(authorizationHeader);
  if (!user) return { status: unauthorizedStatus() };
  return auth.authorize(user, attrs).allowed ? { user } : { user, status: forbiddenStatus(user, attrs) };
}

// ---------------------------------------------------------------- the tokens file

/** A new random bearer token (256 bits from the OS CSPRNG: tokens are credentials, not simulation input). */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

function readConfig(file: string): AuthConfig {
  if (!existsSync(file)) return { users: [], bindings: [] };
  let raw: unknown;
  try { raw = parse(readFileSync(file, 'utf8')); } catch (e) {
    throw securityError(SecurityErrors.AuthTokensFile, `${file}: not valid YAML: ${(e as Error).message}`, { cause: e });
  }
  return validateConfig(raw, file);
}

function writeConfig(file: string, c: AuthConfig): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, '# sluice API access: bearer tokens and role bindings (roles: cluster-admin, admin, edit, view)\n' + stringify(c), { mode: 0o600 });
  renameSync(tmp, file);
  chmodSync(file, 0o600);
}

/**
 * The admin token `sluice up` writes into the kubeconfig: reuses the existing `admin` user's token,
 * else creates it (group system:masters, bound to cluster-admin). The file is kept at mode 0600.
 */
export function ensureAdminToken(stateDir: string): string {
  const file = path.join(stateDir, TOKENS_FILE);
  const c = readConfig(file);
  const existing = c.users.find((u) => u.name === 'admin');
  if (existing) return existing.token;
  const token = newToken();
  c.users.push({ name: 'admin', token, groups: ['system:masters'] });
  if (!c.bindings.some((b) => b.role === 'cluster-admin' && b.subjects.some((s) => s.kind === 'Group' && s.name === 'system:masters'))) {
    c.bindings.push({ role: 'cluster-admin', subjects: [{ kind: 'Group', name: 'system:masters' }] });
  }
  writeConfig(file, c);
  return token;
}

/** Adds a user with a new token and optional role bindings (for `sluice token create` and tests); returns the token. */
export function createUserToken(stateDir: string, req: { user: string; groups?: string[]; bindings?: { role: Role; namespace?: string }[] }): string {
  const file = path.join(stateDir, TOKENS_FILE);
  const c = readConfig(file);
  const token = newToken();
  c.users.push({ name: req.user, token, ...(req.groups?.length ? { groups: req.groups } : {}) });
  for (const b of req.bindings ?? []) c.bindings.push({ role: b.role, ...(b.namespace ? { namespace: b.namespace } : {}), subjects: [{ kind: 'User', name: req.user }] });
  validateConfig(c, file);
  writeConfig(file, c);
  return token;
}
