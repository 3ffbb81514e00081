/**
 * What `sluice up` runs after the API server, in order: the autoscaler (multiscaler, activator,
 * queue-proxy role per pod), serving (controllers + the runtime that runs pods, scaled by the
 * autoscaler), then the network (xDS control plane + gateway proxy, with the activator's
 * address for revisions at zero) with the mesh proxy unless `proxy.mesh: false` (then pods get
 * no mesh ports). With `proxy.enabled: false` there is no gateway, and
 * Ingresses are marked ready by the serving component itself.
 */
import type { Component, ComponentContext } from '../cli/control-process.ts';
import type { SluiceConfig } from '../cli/config.ts';
import { createServingComponent } from '../reconcilers/serving-component.ts';
import { networkComponent, parseNetworkConfig, type NetworkComponent } from './network-component.ts';
import { parseAutoscalerConfig } from '../autoscaler/config.ts';
import { AutoscalingComponent } from './autoscaling-component.ts';

export function platformComponents(config: SluiceConfig): Component[] {
  const net = parseNetworkConfig(config.proxy, config.controlplane, config.file ?? 'config');
  let network: NetworkComponent | undefined;
  // With the mesh on, the activator enforces the pods' AuthorizationPolicies (its requests skip their inbound listeners).
  const mesh = net.enabled && net.mesh
    ? { trustDomain: () => network?.identities?.trustDomain ?? 'cluster.local', lastGoodPolicies: () => network?.identities?.snapshot()?.lastGoodPolicies }
    : undefined;
  const autoscaling = new AutoscalingComponent(parseAutoscalerConfig(config.autoscaler, config.file ?? 'config'), mesh ? { mesh } : {});
  const serving = createServingComponent({
    ingressReadiness: net.enabled ? 'controlplane' : 'immediate', domain: config.domain, images: config.images,
    scaleSource: autoscaling.scaleSource, runtime: { podFrontend: autoscaling.podFrontend, mesh: net.enabled && net.mesh },
  });
  autoscaling.attach(serving);
  const servingComponent: Component = {
    name: 'serving',
    start: (ctx: ComponentContext) => serving.start({ store: ctx.store, stateDir: ctx.stateDir, clock: ctx.clock, config: { domain: config.domain, images: config.images, file: config.file }, informers: ctx.informers }),
    stop: () => serving.stop(),
  };
  network = net.enabled ? networkComponent(net, { activator: () => autoscaling.activatorAddress }) : undefined;
  return network
    ? [autoscaling, servingComponent, network]
    : [autoscaling, servingComponent];
}
