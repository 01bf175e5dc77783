// A user's own property test: "nothing from web1 reaches app1 except its web server".
// In a project that installed netpath, import from 'netpath' instead of '../../src/index.js'.
import fc from 'fast-check';
import { expect, test } from 'vitest';
import { flows, load, outcome, render, trace } from '../../src/index.js';

const world = load(new URL('../../models/prop-reject-shadowed.yaml', import.meta.url).pathname);
const fromWeb1 = flows(world, { from: 'web1', to: '192.168.2.0/24', proto: ['tcp', 'udp'], ports: ['1-79', '81-65535'] });

test('web1 reaches no app1 port but 80: the shadowed REJECT lets 5432 through', () => {
  const run = fc.check(fc.property(fromWeb1, (f) => outcome(world, f) !== 'reachable'), { seed: 1 });
  expect(run.failed).toBe(true); // the bug this model documents; fc.assert(...) in a real suite
  const [flow] = run.counterexample!;
  expect(flow).toMatchObject({ from: 'web1', port: 5432, proto: 'tcp' });
  expect(render(world, trace(world, flow)[0]!)).toContain('--dports 80,443,5432 -j ACCEPT');
});
