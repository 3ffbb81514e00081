/**
 * The components `sluice up` starts after the API server, in this order (and stops in reverse).
 * Owners of controllers, the xDS server and the proxies add their factories here.
 */
import type { Component } from './control-process.ts';
import type { SluiceConfig } from './config.ts';
import { platformComponents } from '../platform/platform-components.ts';

export type ComponentFactory = (config: SluiceConfig) => Component | Component[];

export const COMPONENT_FACTORIES: ComponentFactory[] = [platformComponents];

export function defaultComponents(config: SluiceConfig): Component[] {
  return COMPONENT_FACTORIES.flatMap((make) => make(config));
}
