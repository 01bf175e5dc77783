/**
 * `-m set [!] --match-set NAME DIR[,DIR...] [--return-nomatch]` (libxt_set revision 4, xt_set).
 * The counter options (--packets-gt, ! --update-counters ...) are not modelled. Whether NAME
 * exists is the kernel's question: it is checked when a walk looks the set up (ipset.ts).
 */
import { ipsetTest } from '../ipset.js';
import { fail, flag, opt, unsupported, type MatchExt } from './api.js';
import { not } from './util.js';

export interface SetMatch {
  readonly kind: 'set';
  readonly invert: boolean;
  readonly name: string;
  /** one direction per dimension of the set type, in order */
  readonly dirs: readonly ('src' | 'dst')[];
  readonly returnNomatch: boolean;
}

const UNMODELLED = ['update-counters', 'update-subcounters', 'packets-eq', 'packets-lt', 'packets-gt', 'bytes-eq', 'bytes-lt', 'bytes-gt', 'set'];

export const set: MatchExt<SetMatch> = {
  name: 'set',
  opts: [opt('match-set'), flag('return-nomatch'), ...UNMODELLED.map((n) => (n.startsWith('update') ? flag(n, n, true) : opt(n)))],
  sideEffects: true,
  parser() {
    let v: { invert: boolean; name: string; dirs: ('src' | 'dst')[] } | undefined;
    let returnNomatch = false;
    return {
      option(id, arg, invert, _ctx, next) {
        if (id === 'return-nomatch') {
          returnNomatch = true;
          return;
        }
        if (id !== 'match-set') unsupported(`set option "--${id}" is not modelled by netpath`);
        if (v) fail('set: --match-set can be specified only once');
        const dirText = next();
        if (dirText === undefined || dirText.startsWith('-') || dirText === '!') fail('--match-set requires two args.');
        if (arg.length > 31) fail(`setname \`${arg}' too long, max 31 characters.`);
        const dirs = dirText.split(',').map((d) => {
          if (d !== 'src' && d !== 'dst') fail("You must specify (the comma separated list of) 'src' or 'dst'.");
          return d;
        });
        if (dirs.length > 6) fail("Can't be more src/dst options than 6.");
        v = { invert, name: arg, dirs };
      },
      finish() {
        if (!v) fail("You must specify `--match-set' with proper arguments");
        return { kind: 'set', ...v, returnNomatch };
      },
    };
  },
  save: (m) => `-m set ${not(m.invert)}--match-set ${m.name} ${m.dirs.join(',')}${m.returnNomatch ? ' --return-nomatch' : ''}`,
  match(m, p, env) {
    const sets = env.ipsets;
    if (!sets?.get(m.name)) {
      env.note?.(`-m set --match-set ${m.name}: no such ipset given; the match was taken as not matching`);
      return false;
    }
    return ipsetTest(sets, m.name, p, m.dirs, m.returnNomatch) !== m.invert;
  },
};
