/**
 * The components `sluice up` starts after the API server, in this order (and stops in reverse).
 * Owners of controllers, the xDS server and the proxies add their factories here.
 */
import type { Component } from './control-process.ts';
import type { SluiceConfig } from './config.ts';

export type ComponentFactory = (config: SluiceConfig) => Component;

export const COMPONENT_FACTORIES: ComponentFactory[] = [];

export function defaultComponents(config: SluiceConfig): Component[] {
  return COMPONENT_FACTORIES.map((make) => make(config));
}
