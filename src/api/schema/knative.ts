/** Schemas for serving.knative.dev/v1 (Service, Configuration, Revision, Route), v1beta1 DomainMapping, and the internal KIngress. */
import { container } from './core.ts';
import { kindSchema, knativeStatus, objectMeta } from './meta.ts';
import { anyObject, arr, bool, d, enumOf, int, intOrString, obj, str, strMap, type Schema } from './types.ts';

export const revisionSpec: Schema = obj({
  containers: arr(container, 'The containers of the revision; Knative serves one (or one serving container plus sidecars).'),
  containerConcurrency: int('Maximum number of concurrent requests per container (0 means unlimited, the default).', 'int64'),
  timeoutSeconds: int('Maximum duration in seconds that a request is allowed to take (default 300).', 'int64'),
  responseStartTimeoutSeconds: int('Maximum seconds before the first byte of a response must arrive.', 'int64'),
  idleTimeoutSeconds: int('Maximum seconds a request may stay open without bytes flowing.', 'int64'),
  serviceAccountName: str('Name of the ServiceAccount to use to run this revision.'),
  enableServiceLinks: { type: 'boolean', nullable: true, description: 'Whether service information is injected into environment variables (default false).' },
  volumes: arr(anyObject(), 'List of volumes that can be mounted by containers.'),
  imagePullSecrets: arr(obj({ name: str() })),
  nodeSelector: strMap(),
  affinity: anyObject(),
  tolerations: arr(anyObject()),
  topologySpreadConstraints: arr(anyObject()),
  runtimeClassName: str(),
  securityContext: anyObject(),
  initContainers: arr(container),
  automountServiceAccountToken: bool(),
  priorityClassName: str(),
  schedulerName: str(),
  hostAliases: arr(anyObject()),
  dnsPolicy: str(),
  dnsConfig: anyObject(),
}, { required: ['containers'], description: 'RevisionSpec holds the desired state of the Revision (from the client).' });

const templateMeta: Schema = d('Metadata of the revisions this template creates. A name, if given, must start with `<service name>-`.', objectMeta);

export const revisionTemplate: Schema = obj({
  metadata: templateMeta,
  spec: revisionSpec,
}, { description: 'Template holds the latest specification for the Revision to be stamped out.' });

export const trafficTarget: Schema = obj({
  tag: str('Tag is optionally used to expose a dedicated URL for referencing this target exclusively.'),
  revisionName: str('RevisionName of a specific revision to which to send this portion of traffic.'),
  configurationName: str('ConfigurationName of a configuration to whose latest revision traffic is sent.'),
  latestRevision: { type: 'boolean', nullable: true, description: 'Whether the latest ready revision of the configuration receives this traffic; mutually exclusive with revisionName.' },
  percent: { type: 'integer', format: 'int64', nullable: true, description: 'Percent of the traffic for this target (0-100); all percents sum to 100.' },
  url: str('URL displays the URL for accessing named traffic targets (status only).'),
}, { description: 'TrafficTarget holds a single entry of the routing table for a Route.' });

const traffic = arr(trafficTarget, 'Traffic specifies how to distribute traffic over a collection of revisions and configurations.');
const addressable = obj({ url: str(), name: { type: 'string', nullable: true }, CACerts: { type: 'string', nullable: true }, audience: { type: 'string', nullable: true } });

const configurationStatusFields: Record<string, Schema> = {
  latestCreatedRevisionName: str('The last revision created from this Configuration.'),
  latestReadyRevisionName: str('The latest revision stamped out from this Configuration that has had its Ready condition become True.'),
};
const routeStatusFields: Record<string, Schema> = {
  url: str('The URL where the service is reachable.'),
  address: addressable,
  traffic: arr(trafficTarget, 'Traffic holds the configured traffic distribution, with revision names resolved.'),
};

export const knativeSchemas: Record<string, Schema> = {
  Service: kindSchema('Service acts as a top-level container that manages a Route and Configuration which implement a network service.', {
    spec: obj({ template: revisionTemplate, traffic }, { description: 'ServiceSpec represents the configuration for the Service object: a template and a traffic split.' }),
    status: knativeStatus({ ...configurationStatusFields, ...routeStatusFields }, 'ServiceStatus represents the Status stanza of the Service resource.'),
  }),
  Configuration: kindSchema('Configuration represents the "floating HEAD" of a linear history of Revisions.', {
    spec: obj({ template: revisionTemplate }, { description: 'ConfigurationSpec holds the desired state of the Configuration.' }),
    status: knativeStatus(configurationStatusFields, 'ConfigurationStatus communicates the observed state of the Configuration.'),
  }),
  Revision: kindSchema('Revision is an immutable snapshot of code and configuration.', {
    spec: revisionSpec,
    status: knativeStatus({
      logUrl: str(),
      containerStatuses: arr(obj({ name: str(), imageDigest: str() })),
      initContainerStatuses: arr(obj({ name: str(), imageDigest: str() })),
      actualReplicas: int('Number of ready pods serving this revision.'),
      desiredReplicas: int('Number of pods the autoscaler wants for this revision.'),
    }, 'RevisionStatus communicates the observed state of the Revision.'),
  }),
  Route: kindSchema('Route is responsible for configuring ingress over a collection of Revisions.', {
    spec: obj({ traffic }, { description: 'RouteSpec holds the desired state of the Route.' }),
    status: knativeStatus(routeStatusFields, 'RouteStatus communicates the observed state of the Route.'),
  }),
  DomainMapping: kindSchema('DomainMapping is a mapping from a custom hostname (its name) to an Addressable (a Knative Service or Route).', {
    spec: obj({
      ref: obj({
        apiVersion: str('API version of the referent: serving.knative.dev/v1.'),
        kind: str('Kind of the referent: Service or Route.'),
        name: str('Name of the referent.'),
        namespace: str('Namespace of the referent; defaulted to, and must equal, the DomainMapping\'s namespace.'),
      }, { required: ['apiVersion', 'kind', 'name'], description: 'Ref specifies the Addressable the domain maps to (a Knative Service or Route in the same namespace).' }),
      tls: obj({
        secretName: str('SecretName of a kubernetes.io/tls Secret in the DomainMapping\'s namespace that holds the certificate for the domain.'),
      }, { required: ['secretName'], description: 'TLS serves the domain over HTTPS with the certificate of the given Secret.' }),
    }, { required: ['ref'], description: 'DomainMappingSpec describes the DomainMapping the user wishes to exist.' }),
    status: knativeStatus({
      url: str('URL is the URL of this DomainMapping (https when spec.tls is set).'),
      address: addressable,
    }, 'DomainMappingStatus describes the current state of the DomainMapping.'),
  }),
};

const split = obj({
  serviceNamespace: str(), serviceName: str(), servicePort: intOrString(), percent: int(), appendHeaders: strMap(),
}, { required: ['serviceNamespace', 'serviceName', 'servicePort'] });
const lbIngress = obj({ ingress: arr(obj({ domainInternal: str(), domain: str(), ip: str(), meshOnly: bool() })) });

export const ingressSchemas: Record<string, Schema> = {
  Ingress: kindSchema('Ingress is Knative\'s internal ingress contract, translated by sluice\'s control plane to xDS.', {
    spec: obj({
      rules: arr(obj({
        hosts: arr({ type: 'string' }),
        visibility: enumOf(['ExternalIP', 'ClusterLocal']),
        http: obj({
          paths: arr(obj({
            path: str(), headers: { type: 'object', additionalProperties: obj({ exact: str() }) },
            splits: arr(split), appendHeaders: strMap(), rewriteHost: str(),
          }, { required: ['splits'] })),
        }, { required: ['paths'] }),
      }, { required: ['hosts', 'http'] })),
      tls: arr(obj({ hosts: arr({ type: 'string' }), secretName: str(), secretNamespace: str() })),
      httpOption: enumOf(['Enabled', 'Redirected']),
    }),
    status: knativeStatus({ publicLoadBalancer: lbIngress, privateLoadBalancer: lbIngress }, 'IngressStatus describes the current state of the Ingress.'),
  }),
};
