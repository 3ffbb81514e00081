import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Condition } from '../../api/meta.ts';
import { istioStatus, SUPPORTED_CONDITION } from './object-status.ts';
import type { Verdict } from './readiness.ts';

const gw = { metadata: { generation: 3 }, status: {} as Record<string, unknown> };
const noProxy: Verdict = { state: 'no-proxy' };
const cond = (st: Record<string, unknown>) => (st.conditions as Condition[]).find((c) => c.type === SUPPORTED_CONDITION);

test('refused references (errors) come first with reason InvalidConfiguration; warnings alone say UnsupportedField', () => {
  const st = istioStatus(gw, { verdict: noProxy, problems: [
    { field: 'spec.servers[0].bind', message: 'bind is not supported by sluice and was not applied', severity: 'warning' },
    { field: 'spec.servers[1].tls.credentialName', message: 'Secret a/nope does not exist', severity: 'error' },
  ] }, 1000);
  const c = cond(st);
  assert.equal(c?.status, 'False', 'condition False');
  assert.equal(c?.reason, 'InvalidConfiguration');
  assert.match(c?.message ?? '', /^spec\.servers\[1\]\.tls\.credentialName: Secret a\/nope does not exist; spec\.servers\[0\]\.bind: /);
  assert.equal(st.observedGeneration, 3);

  const warn = cond(istioStatus(gw, { verdict: noProxy, problems: [{ field: 'spec.x', message: 'x is not supported', severity: 'warning' }] }, 1000));
  assert.equal(warn?.reason, 'UnsupportedField');

  const fixed = istioStatus({ ...gw, status: st }, { verdict: noProxy, problems: [] }, 2000);
  assert.equal(cond(fixed), undefined, 'removed once fixed');
});
