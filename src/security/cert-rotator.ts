/**
 * Keeps one workload certificate per identity (namespace + service account) and re-issues it at
 * half of its lifetime, as Istio's SDS agent does (SECRET_GRACE_PERIOD_RATIO 0.5). Each new
 * certificate is announced with the Envoy SDS Secret objects the control plane pushes, so a proxy
 * swaps its TLS context while old connections keep their certificate: no request is dropped.
 *
 * SDS secret names (see `toSdsSecrets`):
 *  - the workload certificate + key: the identity's SPIFFE id (`spiffe://cluster.local/ns/a/sa/default`).
 *    Istio's sidecars call it `default`, but sluice runs one mesh proxy for every pod on the
 *    machine, so one name per identity is needed; pass `certName: 'default'` for Istio's name.
 *  - the trust anchor: `ROOTCA` (Istio's name), a validation_context with the root certificate.
 */
import { realClock, type Clock, type Timer } from '../lib/clock.ts';
import { errorMessage } from '../lib/errors.ts';
import { spiffeIdFor, type Ca, type IssuedCert, type WorkloadIdentity } from './ca.ts';
import { SecurityErrors, securityError } from './security-errors.ts';

export const ROOTCA_SECRET_NAME = 'ROOTCA';
export const ISTIO_DEFAULT_SECRET_NAME = 'default';

/** Envoy `envoy.extensions.transport_sockets.tls.v3.Secret` as a plain object (proto field names). */
export type EnvoySecret =
  | { name: string; tls_certificate: { certificate_chain: { inline_string: string }; private_key: { inline_string: string } } }
  | { name: string; validation_context: { trusted_ca: { inline_string: string } } };

/** SDS name of a workload's certificate secret: its SPIFFE id. */
export function workloadSecretName(spiffeId: string): string {
  return spiffeId;
}

/**
 * The SDS Secrets of one issued workload certificate: `[certificate, ROOTCA]`. Encode each with
 * `encodeResource(TypeUrl.Secret, secret)`.
 */
export function toSdsSecrets(cert: Pick<IssuedCert, 'chainPem' | 'keyPem' | 'spiffeId'>, rootPem: string, opts: { certName?: string } = {}): EnvoySecret[] {
  const name = opts.certName ?? (cert.spiffeId ? workloadSecretName(cert.spiffeId) : undefined);
  if (!name) throw securityError(SecurityErrors.BadCertRequest, 'toSdsSecrets needs certName for a certificate without a SPIFFE id');
  return [certificateSecret(name, cert), rootCaSecret(rootPem)];
}

/** An SDS certificate secret (chain + key) under `name`. */
export function certificateSecret(name: string, cert: Pick<IssuedCert, 'chainPem' | 'keyPem'>): EnvoySecret {
  return { name, tls_certificate: { certificate_chain: { inline_string: cert.chainPem }, private_key: { inline_string: cert.keyPem } } };
}

/** The `ROOTCA` SDS validation secret peers are verified against. */
export function rootCaSecret(rootPem: string): EnvoySecret {
  return { name: ROOTCA_SECRET_NAME, validation_context: { trusted_ca: { inline_string: rootPem } } };
}

export interface RotationEvent {
  identity: WorkloadIdentity;
  spiffeId: string;
  cert: IssuedCert;
  /** `[certificate, ROOTCA]`, ready to push over SDS. */
  secrets: EnvoySecret[];
  reason: 'issued' | 'rotated' | 'forced';
}

export interface CertRotatorOptions {
  ca: Pick<Ca, 'issueWorkload' | 'rootPem' | 'trustDomain'>;
  clock?: Clock;
  /** Lifetime of each workload certificate (default 24 h). */
  ttlMs?: number;
  /** Fraction of the lifetime after which a certificate is re-issued (default 0.5). */
  rotateAt?: number;
  /** Delay before retrying a failed re-issue (default 10 s; never past the old certificate's expiry). */
  retryMs?: number;
  /** Called when issuing fails (the old certificate keeps serving until it expires). */
  onError?: (err: Error, identity: WorkloadIdentity) => void;
}

interface Entry {
  identity: WorkloadIdentity;
  spiffeId: string;
  cert?: IssuedCert;
  timer?: Timer;
  inflight?: Promise<IssuedCert>;
  released: boolean;
}

export class CertRotator {
  private readonly ca: CertRotatorOptions['ca'];
  private readonly clock: Clock;
  private readonly ttlMs: number;
  private readonly fraction: number;
  private readonly retryMs: number;
  private readonly onError?: CertRotatorOptions['onError'];
  private readonly entries = new Map<string, Entry>();
  private readonly listeners = new Set<(ev: RotationEvent) => void>();
  private readonly pending = new Set<Promise<unknown>>();
  private stopped = false;

  constructor(opts: CertRotatorOptions) {
    this.ca = opts.ca;
    this.clock = opts.clock ?? realClock;
    this.ttlMs = opts.ttlMs ?? 24 * 3600_000;
    this.fraction = opts.rotateAt ?? 0.5;
    if (!(this.fraction > 0 && this.fraction < 1)) throw securityError(SecurityErrors.BadCertRequest, `rotateAt must be between 0 and 1 (exclusive), got ${this.fraction}`);
    this.retryMs = opts.retryMs ?? 10_000;
    this.onError = opts.onError;
  }

  /** Subscribes to new certificates (first issue and every rotation); returns the unsubscribe. */
  onRotate(listener: (ev: RotationEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The identity's current certificate, issuing one first if there is none. */
  async ensure(identity: WorkloadIdentity): Promise<IssuedCert> {
    const e = this.entry(identity);
    if (e.cert) return e.cert;
    return e.inflight ?? this.issue(e, 'issued');
  }

  /** Re-issues now (e.g. after the root changed); the old certificate stays valid until expiry. */
  async rotate(identity: WorkloadIdentity): Promise<IssuedCert> {
    const e = this.entry(identity);
    if (e.inflight) await e.inflight.catch(() => undefined);
    return this.issue(e, e.cert ? 'forced' : 'issued');
  }

  current(identity: WorkloadIdentity): IssuedCert | undefined {
    return this.entries.get(spiffeIdFor(this.ca.trustDomain, identity))?.cert;
  }

  identities(): WorkloadIdentity[] {
    return [...this.entries.values()].map((e) => e.identity);
  }

  /** Every current SDS secret: each identity's certificate, then ROOTCA once. */
  secrets(): EnvoySecret[] {
    const out: EnvoySecret[] = [];
    for (const e of this.entries.values()) if (e.cert) out.push(certificateSecret(workloadSecretName(e.spiffeId), e.cert));
    out.push(rootCaSecret(this.ca.rootPem));
    return out;
  }

  /** Stops rotating an identity (its last pod is gone) and forgets its certificate. */
  release(identity: WorkloadIdentity): void {
    const id = spiffeIdFor(this.ca.trustDomain, identity);
    const e = this.entries.get(id);
    if (!e) return;
    e.released = true;
    if (e.timer) this.clock.clearTimeout(e.timer);
    this.entries.delete(id);
  }

  /** Resolves when no issue is in flight (tests use this after advancing a FakeClock). */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  stop(): void {
    this.stopped = true;
    for (const e of this.entries.values()) if (e.timer) this.clock.clearTimeout(e.timer);
    this.entries.clear();
  }

  private entry(identity: WorkloadIdentity): Entry {
    if (this.stopped) throw securityError(SecurityErrors.RotationFailed, 'the certificate rotator is stopped');
    const spiffeId = spiffeIdFor(this.ca.trustDomain, identity);
    let e = this.entries.get(spiffeId);
    if (!e) {
      e = { identity: { namespace: identity.namespace, serviceAccount: identity.serviceAccount }, spiffeId, released: false };
      this.entries.set(spiffeId, e);
    }
    return e;
  }

  private issue(e: Entry, reason: RotationEvent['reason']): Promise<IssuedCert> {
    const p = (async () => {
      try {
        const cert = await this.ca.issueWorkload({ ...e.identity, ttlMs: this.ttlMs, now: this.clock.now() });
        if (e.released || this.stopped) return cert;
        e.cert = cert;
        this.schedule(e, cert.notBefore + (cert.notAfter - cert.notBefore) * this.fraction);
        const ev: RotationEvent = { identity: e.identity, spiffeId: e.spiffeId, cert, secrets: toSdsSecrets(cert, this.ca.rootPem), reason };
        for (const l of this.listeners) l(ev);
        return cert;
      } catch (err) {
        const wrapped = securityError(SecurityErrors.RotationFailed, `issuing the certificate of ${e.spiffeId} failed: ${errorMessage(err)}`, { cause: err });
        if (!e.released && !this.stopped) {
          this.onError?.(wrapped, e.identity);
          // Keep trying while the old certificate (if any) still serves; without one, the next ensure() retries.
          if (e.cert) this.schedule(e, Math.min(this.clock.now() + this.retryMs, e.cert.notAfter - 1));
        }
        throw wrapped;
      } finally {
        e.inflight = undefined;
      }
    })();
    e.inflight = p;
    this.pending.add(p);
    void p.catch(() => undefined).finally(() => this.pending.delete(p));
    return p;
  }

  private schedule(e: Entry, at: number): void {
    if (e.timer) this.clock.clearTimeout(e.timer);
    e.timer = this.clock.setTimeout(() => {
      e.timer = undefined;
      if (e.released || this.stopped || e.inflight) return;
      this.issue(e, 'rotated').catch(() => undefined /* reported through onError and retried */);
    }, Math.max(0, at - this.clock.now()));
  }
}
