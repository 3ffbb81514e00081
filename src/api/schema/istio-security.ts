/** Schemas for security.istio.io/v1: PeerAuthentication and AuthorizationPolicy. */
import { istioStatus, kindSchema } from './meta.ts';
import { arr, enumOf, mapOf, obj, str, strMap, strs, type Schema } from './types.ts';

const selector = obj({ matchLabels: strMap('One or more labels that indicate a specific set of pods/VMs on which a policy should be applied.') },
  { description: 'The selector determines the workloads to apply the policy on.' });
const mtls = obj({ mode: enumOf(['UNSET', 'DISABLE', 'PERMISSIVE', 'STRICT'], 'Defines the mTLS mode used for peer authentication.') });
const targetRef = obj({ group: str(), kind: str(), name: str(), namespace: str() }, { required: ['kind', 'name'] });

export const peerAuthenticationSpec: Schema = obj({
  selector,
  mtls: { ...mtls, description: 'Mutual TLS settings for workload.' },
  portLevelMtls: mapOf(mtls, 'Port specific mutual TLS settings, keyed by port number.'),
}, { description: 'Peer authentication configuration for workloads.' });

const source = obj({
  principals: strs('A list of peer identities derived from the peer certificate (spiffe ids without the spiffe:// prefix).'),
  notPrincipals: strs(), requestPrincipals: strs(), notRequestPrincipals: strs(),
  namespaces: strs('A list of namespaces derived from the peer certificate.'), notNamespaces: strs(),
  ipBlocks: strs(), notIpBlocks: strs(), remoteIpBlocks: strs(), notRemoteIpBlocks: strs(),
}, { description: 'Source specifies the source identities of a request.' });
const operation = obj({
  hosts: strs(), notHosts: strs(), ports: strs(), notPorts: strs(),
  methods: strs(), notMethods: strs(), paths: strs(), notPaths: strs(),
}, { description: 'Operation specifies the operations of a request.' });

export const authorizationPolicySpec: Schema = obj({
  selector,
  targetRef,
  targetRefs: arr(targetRef),
  rules: arr(obj({
    from: arr(obj({ source }), 'Optional. from specifies the source of a request.'),
    to: arr(obj({ operation }), 'Optional. to specifies the operation of a request.'),
    when: arr(obj({ key: str(), values: strs(), notValues: strs() }, { required: ['key'] }), 'Optional. when specifies a list of additional conditions of a request.'),
  }), 'Optional. A list of rules to match the request.'),
  action: enumOf(['ALLOW', 'DENY', 'AUDIT', 'CUSTOM'], 'Optional. The action to take if the request is matched with the rules. Default is ALLOW if not specified.'),
  provider: obj({ name: str('Specifies the name of the extension provider.') }),
}, { description: 'Configuration for access control on workloads.' });

export const istioSecuritySchemas: Record<string, Schema> = {
  PeerAuthentication: kindSchema('Peer authentication configuration for workloads. See more details at: https://istio.io/docs/reference/config/security/peer_authentication.html', { spec: peerAuthenticationSpec, status: istioStatus }),
  AuthorizationPolicy: kindSchema('Configuration for access control on workloads. See more details at: https://istio.io/docs/reference/config/security/authorization-policy.html', { spec: authorizationPolicySpec, status: istioStatus }),
};
