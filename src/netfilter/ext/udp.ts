/** `-m udp` (libxt_udp, xt_tcpudp): ports. */
import type { PortSpec } from '../types.js';
import type { MatchExt } from './api.js';
import { PORT_OPTS, portsMatch, portsOnlyParser, readPorts, savePorts } from './ports.js';

export interface UdpMatch {
  readonly kind: 'udp';
  readonly sport?: PortSpec;
  readonly dport?: PortSpec;
}

export const udp: MatchExt<UdpMatch> = {
  name: 'udp',
  opts: PORT_OPTS,
  implicitProto: 17,
  parser: () => portsOnlyParser('udp', 17),
  save: (m) => `-m udp${savePorts(m)}`,
  fast: (c) => readPorts('udp', c, 17),
  match: (m, p) => p.proto === 17 && portsMatch(m, p),
};
