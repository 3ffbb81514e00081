/** Envoy's response flags (as in %RESPONSE_FLAGS%) and the local-reply bodies Envoy sends with them. */
export const Flag = {
  NoHealthyUpstream: 'UH',
  UpstreamConnectionFailure: 'UF',
  UpstreamOverflow: 'UO',
  NoRouteFound: 'NR',
  NoClusterFound: 'NC',
  UpstreamRetryLimitExceeded: 'URX',
  UpstreamRequestTimeout: 'UT',
  UpstreamConnectionTermination: 'UC',
  UpstreamRemoteReset: 'UR',
  DownstreamConnectionTermination: 'DC',
  StreamIdleTimeout: 'SI',
  FaultInjectedAbort: 'FI',
  FaultInjectedDelay: 'DI',
  DownstreamProtocolError: 'DPE',
  RbacAccessDenied: 'RBAC',
} as const;
export type ResponseFlag = (typeof Flag)[keyof typeof Flag];

export const LocalReplyBody = {
  noHealthyUpstream: 'no healthy upstream',
  connectFailure: 'upstream connect error or disconnect/reset before headers. reset reason: connection failure',
  overflow: 'upstream connect error or disconnect/reset before headers. reset reason: overflow',
  reset: 'upstream connect error or disconnect/reset before headers. reset reason: connection termination',
  timeout: 'upstream request timeout',
  streamIdle: 'stream timeout',
  faultAbort: 'fault filter abort',
} as const;
