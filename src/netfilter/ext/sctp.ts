/**
 * `-p sctp -m sctp [!] --sport/--dport` (libxt_sctp; kube-proxy's SCTP services).
 * --chunk-types is refused as not modelled.
 */
import type { PortSpec } from '../types.js';
import { opt, type MatchExt } from './api.js';
import { PORT_OPTS, portsMatch, portsOnlyParser, readPorts, savePorts } from './ports.js';

export interface SctpMatch {
  readonly kind: 'sctp';
  readonly sport?: PortSpec;
  readonly dport?: PortSpec;
}

export const sctp: MatchExt<SctpMatch> = {
  name: 'sctp',
  opts: [...PORT_OPTS, opt('chunk-types')],
  implicitProto: 132,
  parser: () => portsOnlyParser('sctp', 132),
  save: (m) => `-m sctp${savePorts(m)}`,
  fast: (c) => readPorts('sctp', c, 132),
  match: (m, p) => p.proto === 132 && portsMatch(m, p),
};
