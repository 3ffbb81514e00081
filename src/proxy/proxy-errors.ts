/** Stable error codes of the proxy (listed in docs/errors/proxy.md). */
export const ProxyErrors = {
  /** The bootstrap file is missing, unreadable or has a bad field. */
  BOOTSTRAP: 'SLUICE_E_PROXY_BOOTSTRAP',
  /** An xDS resource failed validation; it is NACKed and the previous configuration keeps serving. */
  CONFIG: 'SLUICE_E_PROXY_CONFIG',
  /** A safe_regex uses RE2 syntax that JavaScript cannot evaluate the same way. */
  REGEX: 'SLUICE_E_PROXY_REGEX',
  /** A listener could not bind its address. */
  LISTEN: 'SLUICE_E_PROXY_LISTEN',
} as const;
