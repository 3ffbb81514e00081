/**
 * A control process with the serving component, as a child process for the serving e2e tests
 * (stands in for `sluice up` until the serving component is in its default components; then
 * these tests can use startSluice from api-harness.ts). Usage:
 *   node --import tsx test/e2e/serving-child.ts STATE_DIR
 * Prints "sluice ready" once the API and controllers run; SIGTERM stops it cleanly.
 */
import { ControlProcess } from '../../src/cli/control-process.ts';
import { defaultConfig } from '../../src/cli/config.ts';
import { createServingComponent } from '../../src/reconcilers/serving-component.ts';

const stateDir = process.argv[2];
if (!stateDir) {
  process.stderr.write('usage: serving-child.ts STATE_DIR\n');
  process.exit(2);
}
const config = defaultConfig();
config.api.port = 0;
const cp = new ControlProcess({ stateDir, config, components: [createServingComponent({ ingressReadiness: 'immediate' })] });
let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  cp.stop().then(() => process.exit(0), () => process.exit(1));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
const started = await cp.start();
process.stdout.write(`sluice ready: api ${started.endpoints.api} kubeconfig ${started.kubeconfigPath}\n`);
