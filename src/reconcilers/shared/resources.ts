/** Resource ids (store keys) of the kinds the serving reconcilers read and write. */
export const R = {
  services: 'serving.knative.dev/services',
  configurations: 'serving.knative.dev/configurations',
  revisions: 'serving.knative.dev/revisions',
  routes: 'serving.knative.dev/routes',
  ingresses: 'networking.internal.knative.dev/ingresses',
  pods: 'core/pods',
  endpoints: 'core/endpoints',
  events: 'core/events',
} as const;

export const ServingErrors = {
  NotOwned: 'SLUICE_E_NOT_OWNED',
} as const;
