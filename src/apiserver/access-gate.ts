/**
 * The API server's access check, run before routing: authentication by bearer token (401),
 * then RBAC on the request's attributes (403), both answered as Kubernetes Status objects
 * (the rules and messages are in src/security/api-auth.ts).
 *
 * - /healthz, /livez and /readyz (and their sub-paths) are open without a token, as
 *   kube-apiserver's system:public-info-viewer binding makes them for anonymous requests.
 * - Mounted routes (/metrics, /metrics/controlplane, ...) need an authenticated user.
 * - Resource paths are authorized with kube-apiserver's verb derivation (get/list/watch/create/
 *   update/patch/delete/deletecollection) on `resourceId` of the kind, namespace, name and
 *   subresource; every other path (discovery, /version, /openapi, unknown paths) as a
 *   non-resource path, open to authenticated users where Kubernetes opens it.
 * - The tokens file is re-read when it changes (checked at most once per `reloadIntervalMs`);
 *   a malformed file is logged once and the previous tokens stay in force.
 */
import type { IncomingMessage } from 'node:http';
import type { Status } from '../api/meta.ts';
import type { Clock } from '../lib/clock.ts';
import { log } from '../lib/log.ts';
import { forbiddenStatus, resourceAttributes, unauthorizedStatus, type ApiAuth, type RequestAttributes, type User } from '../security/api-auth.ts';
import type { ResourceRequest } from './resource-path.ts';

/** Paths kube-apiserver serves to anonymous clients. */
const PUBLIC = /^\/(healthz|livez|readyz)(\/.*)?$/;

export function isPublicPath(path: string): boolean {
  return PUBLIC.test(path);
}

/**
 * The RBAC attributes of a request. `resource` is the parsed resource path, or undefined for
 * discovery and other non-resource paths (also for paths that failed to parse: the parse error
 * is answered only to users allowed to see it).
 */
export function requestAttributes(method: string, path: string, url: URL, resource: ResourceRequest | undefined): RequestAttributes {
  if (resource) {
    const a = resourceAttributes(method, resource, url.searchParams.get('watch'));
    if (a) return a;
  }
  return { verb: 'get', path };
}

export interface AccessDecision {
  user?: User;
  /** Set when the request is refused: the Status to answer. */
  status?: Status;
}

export class AccessGate {
  private lastCheck = Number.NEGATIVE_INFINITY;
  private lastError = '';

  constructor(private readonly auth: ApiAuth, private readonly clock: Clock, private readonly reloadIntervalMs = 1000) {}

  /** Re-reads the tokens file if it changed (rate-limited); logs a rejected file once per distinct error. */
  refresh(): void {
    const now = this.clock.now();
    if (now - this.lastCheck < this.reloadIntervalMs) return;
    this.lastCheck = now;
    const err = this.auth.reloadIfChanged();
    const msg = err?.message ?? '';
    if (err && msg !== this.lastError) log.error({ err }, 'API tokens file rejected; the previous tokens stay in force');
    else if (!err && this.lastError) log.info('API tokens file reloaded');
    this.lastError = msg;
  }

  /** 401 unless the request carries a known bearer token (public health paths excepted). */
  authenticate(req: IncomingMessage, path: string): AccessDecision & { public?: boolean } {
    this.refresh();
    if (isPublicPath(path)) return { public: true };
    const user = this.auth.authenticate(req.headers.authorization);
    return user ? { user } : { status: unauthorizedStatus() };
  }

  /** 403 unless a role binding of the user allows the request. */
  authorize(user: User, attrs: RequestAttributes): Status | undefined {
    const d = this.auth.authorize(user, attrs);
    if (d.allowed) return undefined;
    if (log.isLevelEnabled('debug')) log.debug({ user: user.name, attrs, reason: d.reason }, 'api request forbidden');
    return forbiddenStatus(user, attrs);
  }
}
