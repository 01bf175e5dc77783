/**
 * `-m physdev` (libxt_physdev, xt_physdev): the bridge ports a bridged frame came in on and goes
 * out of, under br_netfilter.
 */
import { flag, once, opt, fail, type MatchExt } from './api.js';
import { checkIfName, ifMatch, not } from './util.js';

export interface PhysdevMatch {
  readonly kind: 'physdev';
  readonly physdevIn?: { readonly invert: boolean; readonly name: string };
  readonly physdevOut?: { readonly invert: boolean; readonly name: string };
  readonly isIn?: { readonly invert: boolean };
  readonly isOut?: { readonly invert: boolean };
  readonly isBridged?: { readonly invert: boolean };
}

export const physdev: MatchExt<PhysdevMatch> = {
  name: 'physdev',
  opts: [opt('physdev-in'), opt('physdev-out'), flag('physdev-is-in', 'physdev-is-in', true), flag('physdev-is-out', 'physdev-is-out', true), flag('physdev-is-bridged', 'physdev-is-bridged', true)],
  parser() {
    const seen = new Set<string>();
    const v: {
      physdevIn?: { invert: boolean; name: string };
      physdevOut?: { invert: boolean; name: string };
      isIn?: { invert: boolean };
      isOut?: { invert: boolean };
      isBridged?: { invert: boolean };
    } = {};
    return {
      option(id, arg, invert) {
        once('physdev', seen, id);
        if (id === 'physdev-in') v.physdevIn = { invert, name: checkIfName(arg) };
        else if (id === 'physdev-out') v.physdevOut = { invert, name: checkIfName(arg) };
        else if (id === 'physdev-is-in') v.isIn = { invert };
        else if (id === 'physdev-is-out') v.isOut = { invert };
        else v.isBridged = { invert };
      },
      finish() {
        if (seen.size === 0) fail('PHYSDEV: no physdev option specified');
        return { kind: 'physdev', ...v };
      },
    };
  },
  save(m) {
    let s = '-m physdev';
    if (m.isIn) s += ` ${not(m.isIn.invert)}--physdev-is-in`;
    if (m.physdevIn) s += ` ${not(m.physdevIn.invert)}--physdev-in ${m.physdevIn.name}`;
    if (m.isOut) s += ` ${not(m.isOut.invert)}--physdev-is-out`;
    if (m.physdevOut) s += ` ${not(m.physdevOut.invert)}--physdev-out ${m.physdevOut.name}`;
    if (m.isBridged) s += ` ${not(m.isBridged.invert)}--physdev-is-bridged`;
    return s;
  },
  match(m, p) {
    if (m.isBridged && p.bridged === m.isBridged.invert) return false;
    if (m.isIn && (p.physIn !== undefined) === m.isIn.invert) return false;
    if (m.isOut && (p.physOut !== undefined) === m.isOut.invert) return false;
    if (m.physdevIn && (p.physIn !== undefined && ifMatch(m.physdevIn.name, p.physIn)) === m.physdevIn.invert) return false;
    if (m.physdevOut && (p.physOut !== undefined && ifMatch(m.physdevOut.name, p.physOut)) === m.physdevOut.invert) return false;
    return true;
  },
};
