/**
 * Stable error codes of the mesh security building blocks (CA, certificate rotation, TLS
 * material, policies, API access control). Each is described in docs/errors/security.md.
 */
import { SluiceError } from '../lib/errors.ts';

export const SecurityErrors = {
  /** The CA's root files in the state dir or given by the operator are missing, unreadable or inconsistent. */
  CaRoot: 'SLUICE_E_CA_ROOT',
  /** The CA root certificate is expired or not yet valid. */
  CaRootExpired: 'SLUICE_E_CA_ROOT_EXPIRED',
  /** A workload identity (namespace, service account) or trust domain is not a valid SPIFFE path segment. */
  BadIdentity: 'SLUICE_E_CA_BAD_IDENTITY',
  /** A certificate request is malformed (no DNS names, bad TTL). */
  BadCertRequest: 'SLUICE_E_CA_BAD_REQUEST',
  /** The certificate rotator failed to issue a certificate for an identity. */
  RotationFailed: 'SLUICE_E_CERT_ROTATION_FAILED',
  /** A kubernetes.io/tls Secret lacks tls.crt or tls.key. */
  TlsMissingKey: 'SLUICE_E_TLS_MISSING_KEY',
  /** tls.crt or tls.key is not valid base64 PEM, or does not parse as a certificate / private key. */
  TlsMalformedPem: 'SLUICE_E_TLS_MALFORMED_PEM',
  /** The private key in tls.key does not belong to the certificate in tls.crt. */
  TlsKeyMismatch: 'SLUICE_E_TLS_KEY_MISMATCH',
  /** The certificate is expired. */
  TlsExpired: 'SLUICE_E_TLS_EXPIRED',
  /** The certificate is not valid yet. */
  TlsNotYetValid: 'SLUICE_E_TLS_NOT_YET_VALID',
  /** Two Secrets claim the same SNI host name, or a host name is not a valid (wildcard) DNS name. */
  TlsSniConflict: 'SLUICE_E_TLS_SNI_CONFLICT',
  /** An AuthorizationPolicy uses a feature sluice does not enforce (CUSTOM action, requestPrincipals, JWT claims). */
  AuthzUnsupported: 'SLUICE_E_AUTHZ_UNSUPPORTED',
  /** An AuthorizationPolicy or PeerAuthentication is invalid (unknown condition key, bad CIDR, bad port, unknown mode). */
  AuthzInvalid: 'SLUICE_E_AUTHZ_INVALID',
  /** The tokens file of the API server is malformed. */
  AuthTokensFile: 'SLUICE_E_AUTH_TOKENS_FILE',
  /** A role binding names an unknown role or lacks subjects. */
  AuthBadBinding: 'SLUICE_E_AUTH_BAD_BINDING',
} as const;

export type SecurityErrorCode = (typeof SecurityErrors)[keyof typeof SecurityErrors];

export function securityError(code: SecurityErrorCode, message: string, opts: { cause?: unknown; httpStatus?: number; details?: Record<string, unknown> } = {}): SluiceError {
  return new SluiceError(code, message, opts);
}

/**
 * A finding about a policy or Secret that sluice could not apply as written. The caller puts it on
 * the resource's status (like the control plane's translate problems) and keeps the previous
 * configuration serving when severity is 'error'.
 */
export interface SecurityProblem {
  /** `kind namespace/name` of the resource, e.g. `AuthorizationPolicy a/allow-a`. */
  resource: string;
  /** Field path inside the resource, e.g. `spec.rules[0].when[1].key`. */
  field: string;
  message: string;
  severity: 'error' | 'warning';
  code: string;
}
