/**
 * The control process's source of mesh identities for the translation: the CA in the state dir
 * (made at first start, kept in STATE_DIR/ca/), a CertRotator that issues a workload certificate
 * per identity and re-issues it at half-life, and an immutable snapshot of the current
 * certificates (MeshSecurityInput) that the translation reads. The translation reports the
 * identities it needed without a certificate through `want`; they are issued in the background,
 * and every new certificate (first issue or rotation) calls `onChange`, on which the control
 * plane re-translates and pushes the new SDS secrets (proxies swap their TLS context; open
 * connections keep theirs, so rotation drops no request).
 */
import type { Clock } from '../lib/clock.ts';
import { realClock } from '../lib/clock.ts';
import { errorMessage } from '../lib/errors.ts';
import { log } from '../lib/log.ts';
import { loadOrCreateCa, spiffeIdFor, type Ca, type WorkloadIdentity } from './ca.ts';
import { CertRotator } from './cert-rotator.ts';

export interface MeshIdentitySnapshot {
  trustDomain: string;
  rootPem: string;
  certs: ReadonlyMap<string, { chainPem: string; keyPem: string; notAfter: number }>;
  gatewayIdentity?: WorkloadIdentity;
  want(id: WorkloadIdentity): void;
  /** Last valid version of each mesh policy (see MeshSecurityInput.lastGoodPolicies). */
  lastGoodPolicies: Map<string, any>;
}

export interface MeshIdentitiesOptions {
  stateDir: string;
  clock?: Clock;
  /** Workload certificate lifetime (default 24 h); rotation at half of it. */
  certTtlMs?: number;
  trustDomain?: string;
  /** Operator-supplied root (or intermediate + chain) instead of the state dir's. */
  rootCertFile?: string;
  rootKeyFile?: string;
  gatewayIdentity?: WorkloadIdentity;
  /** Called after a certificate was issued or rotated (re-translate and push). */
  onChange?: () => void;
}

export class MeshIdentities {
  private ca?: Ca;
  private rotator?: CertRotator;
  private current?: MeshIdentitySnapshot;
  private readonly clock: Clock;
  /** Identities asked for and not failed permanently; re-asked after an error on the next translation. */
  private readonly asked = new Set<string>();
  /** Shared by every snapshot: the last valid version of each mesh policy. */
  private readonly lastGoodPolicies = new Map<string, any>();
  lastError?: string;

  constructor(private readonly o: MeshIdentitiesOptions) {
    this.clock = o.clock ?? realClock;
  }

  get trustDomain(): string { return this.ca?.trustDomain ?? this.o.trustDomain ?? 'cluster.local'; }

  async start(): Promise<{ source: Ca['source']; trustDomain: string }> {
    this.ca = await loadOrCreateCa(this.o.stateDir, { trustDomain: this.o.trustDomain, rootCertFile: this.o.rootCertFile, rootKeyFile: this.o.rootKeyFile, clock: this.clock });
    this.rotator = new CertRotator({
      ca: this.ca, clock: this.clock, ttlMs: this.o.certTtlMs,
      onError: (err, id) => {
        this.lastError = err.message;
        log.error({ identity: spiffeIdFor(this.trustDomain, id), err: err.message }, 'mesh CA: issuing a workload certificate failed; the previous certificate serves until it expires');
      },
    });
    this.rotator.onRotate((ev) => {
      log.info({ identity: ev.spiffeId, reason: ev.reason, notAfter: new Date(ev.cert.notAfter).toISOString() }, 'mesh CA: workload certificate');
      this.current = undefined;
      this.o.onChange?.();
    });
    if (this.o.gatewayIdentity) await this.rotator.ensure(this.o.gatewayIdentity);
    return { source: this.ca.source, trustDomain: this.ca.trustDomain };
  }

  /** The current certificates (a new object after every issue or rotation). */
  snapshot(): MeshIdentitySnapshot | undefined {
    const ca = this.ca;
    const rot = this.rotator;
    if (!ca || !rot) return undefined;
    if (this.current) return this.current;
    const certs = new Map<string, { chainPem: string; keyPem: string; notAfter: number }>();
    for (const id of rot.identities()) {
      const c = rot.current(id);
      if (c?.spiffeId) certs.set(c.spiffeId, { chainPem: c.chainPem, keyPem: c.keyPem, notAfter: c.notAfter });
    }
    this.current = {
      trustDomain: ca.trustDomain, rootPem: ca.rootPem, certs, gatewayIdentity: this.o.gatewayIdentity,
      want: (id) => this.want(id),
      lastGoodPolicies: this.lastGoodPolicies,
    };
    return this.current;
  }

  /** Issues a certificate for `id` in the background (once; onChange fires when it is there). */
  want(id: WorkloadIdentity): void {
    const rot = this.rotator;
    if (!rot) return;
    const key = spiffeIdFor(this.trustDomain, id);
    if (this.asked.has(key)) return;
    this.asked.add(key);
    rot.ensure(id).catch((e) => {
      this.asked.delete(key);
      this.lastError = errorMessage(e);
      log.error({ identity: key, err: errorMessage(e) }, 'mesh CA: cannot issue a workload certificate');
    });
  }

  stop(): void {
    this.rotator?.stop();
  }
}
