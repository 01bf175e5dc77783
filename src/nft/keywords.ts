/**
 * Words nft 1.0.6 reads as keywords wherever a table, chain or set name is expected, so that
 * such a name cannot be written at all (`nft add table ip ct`: "syntax error, unexpected ct,
 * expecting string"). nft 1.0.6 has no quoted form for these names either (`"ct"` is "unexpected
 * quoted string"), and a table created under such a name through netlink or JSON is listed
 * unquoted (`table ip ct {`), a listing nft itself cannot read back.
 *
 * Observed, not copied: every word of nft's scanner was given to `nft -c -f` as a table name
 * (families ip, inet, ip6, line and block form), a chain name and a set name; these are the words
 * refused in every position (none is refused in only some). Words such as `filter`, `nat`,
 * `input`, `saddr`, `state` or `tunnel` are accepted. test/nft/kernel.test.ts re-checks
 * the list against the installed nft.
 */
export const NFT_KEYWORDS: ReadonlySet<string> = new Set([
  'eq', 'ne', 'le', 'lt', 'ge', 'gt', 'lshift', 'rshift', 'xor', 'and', 'or', 'not', 'vmap',
  'include', 'define', 'redefine', 'undefine', 'describe', 'hook', 'device', 'devices', 'table',
  'chain', 'rule', 'set', 'element', 'map', 'flowtable', 'handle', 'ruleset', 'socket', 'tproxy',
  'accept', 'drop', 'continue', 'jump', 'goto', 'return', 'inet', 'netdev', 'add', 'replace',
  'update', 'create', 'insert', 'delete', 'get', 'list', 'reset', 'flush', 'rename', 'import',
  'export', 'monitor', 'position', 'index', 'comment', 'constant', 'interval', 'dynamic',
  'auto-merge', 'timeout', 'gc-interval', 'elements', 'expires', 'policy', 'size', 'flow',
  'offload', 'meter', 'counter', 'log', 'queue', 'limit', 'quota', 'hour', 'day', 'reject', 'snat',
  'dnat', 'masquerade', 'redirect', 'random', 'th', 'bridge', 'ether', 'type', 'typeof', 'vlan',
  'arp', 'ip', 'ecn', 'time', 'icmp', 'icmpv6', 'igmp', 'ip6', 'priority', 'ah', 'esp', 'comp',
  'flags', 'udp', 'udplite', 'tcp', 'dccp', 'sctp', 'rt', 'rt0', 'rt2', 'srh', 'hbh', 'frag',
  'dst', 'mh', 'meta', 'mark', 'iif', 'iifname', 'iiftype', 'oif', 'oifname', 'oiftype', 'skuid',
  'skgid', 'nftrace', 'rtclassid', 'ibriport', 'ibrname', 'obriport', 'obrname', 'pkttype', 'cpu',
  'iifgroup', 'oifgroup', 'cgroup', 'ct', 'numgen', 'jhash', 'symhash', 'dup', 'fwd', 'fib', 'osf',
  'synproxy', 'notrack', 'all', 'exists', 'missing', 'exthdr', 'ipsec', 'secmark', 'xt',
]);

/**
 * what nft's scanner reads as a name (`string` in scanner.l): a letter, `_` or `.`, then letters,
 * digits, `/ - _ .`; or a classid-shaped word (`ab:cd`, hex digits around one colon), which the
 * scanner also hands over as a string (observed: `add chain ip t ab:cd` loads, `x:1` does not)
 */
const NAME = /^(?:[A-Za-z_.][A-Za-z0-9/\-_.]*|[0-9a-fA-F]{1,4}:[0-9a-fA-F]{1,4})$/;

/** Why `word` cannot be a table, chain or set name in nft syntax, or undefined when it can. */
export function badNftName(word: string, quoted: boolean): string | undefined {
  if (quoted) return 'syntax error, unexpected quoted string, expecting string';
  if (NFT_KEYWORDS.has(word)) return `syntax error, unexpected ${word}, expecting string ("${word}" is an nft keyword: nft cannot name a table, chain or set so)`;
  if (!NAME.test(word)) return `syntax error, "${word}" is not an nft name (a letter, "_" or "." first, then letters, digits, "/", "-", "_", ".")`;
  return undefined;
}
