/**
 * nft files the kernel accepts or refuses for their jump graph or their names, with what nft 1.0.6
 * on Linux 6.18 said (observed with `nft -f` in a scratch namespace): `line` is the line of the
 * first error, `error` its text; undefined when the file loads. nft.test.ts checks netpath gives
 * the same; kernel.test.ts re-checks the kernel.
 */
export interface ValidateCase {
  readonly name: string;
  readonly text: string;
  readonly line?: number;
  readonly error?: string;
}

const BASE = 'chain base {\n\ttype filter hook input priority 0;\n\tjump a\n}\n';
const chainRun = (from: number, to: number): string => {
  let s = '';
  for (let k = from; k < to; k++) s += `chain c${k} {\n\tjump c${k + 1}\n}\n`;
  return s + `chain c${to} {\n}\n`;
};

export const VALIDATE_CASES: readonly ValidateCase[] = [
  { name: 'a chain jumping to itself, no base chain reaches it: loads', text: 'table ip t {\nchain a {\n\tjump a\n}\n}\n' },
  { name: 'a loop of two chains, no base chain reaches it: loads', text: 'table ip t {\nchain a {\n\tjump b\n}\nchain b {\n\tgoto a\n}\n}\n' },
  { name: 'a chain jumping to itself from an input chain', text: `table ip t {\n${BASE}chain a {\n\tjump a\n}\n}\n`, line: 7, error: 'Too many links' },
  { name: 'a jump/goto loop reached from an input chain', text: `table ip t {\n${BASE}chain a {\n\tjump b\n}\nchain b {\n\tgoto a\n}\n}\n`, line: 10, error: 'Too many links' },
  {
    name: 'a loop closed by a later rule (command form)',
    text: 'add table ip t\nadd chain ip t a\nadd chain ip t b\nadd chain ip t base { type filter hook input priority 0; }\nadd rule ip t base jump a\nadd rule ip t a jump b\nadd rule ip t b counter\nadd rule ip t b jump a\n',
    line: 8,
    error: 'Too many links',
  },
  {
    name: 'a loop closed by a verdict map element',
    text: 'add table ip t\nadd chain ip t a\nadd chain ip t b\nadd chain ip t base { type filter hook input priority 0; }\nadd rule ip t base jump a\nadd map ip t m { type ipv4_addr : verdict; }\nadd rule ip t a ip daddr vmap @m\nadd rule ip t b jump a\nadd element ip t m { 1.2.3.4 : jump b }\n',
    line: 9,
    error: 'Too many links',
  },
  {
    name: 'a loop closed by an anonymous verdict map',
    text: 'add table ip t\nadd chain ip t a\nadd chain ip t b\nadd chain ip t base { type filter hook input priority 0; }\nadd rule ip t base jump a\nadd rule ip t b jump a\nadd rule ip t a ip daddr vmap { 1.2.3.4 : jump b }\n',
    line: 7,
    error: 'Too many links',
  },
  {
    name: 'a loop, then a base chain jumping into it',
    text: 'add table ip t\nadd chain ip t a\nadd chain ip t b\nadd rule ip t a jump b\nadd rule ip t b jump a\nadd chain ip t base { type filter hook input priority 0; }\nadd rule ip t base jump a\n',
    line: 7,
    error: 'Too many links',
  },
  // base chain at level 0, c0 at 1 ... c14 at 15: the deepest the kernel allows
  { name: 'jumps 15 deep below a base chain: loads', text: `table ip t {\nchain base {\n\ttype filter hook input priority 0;\n\tjump c0\n}\n${chainRun(0, 14)}}\n` },
  // c15 would be at level 16: the rule `jump c15` (in c14) fails
  { name: 'jumps 16 deep below a base chain', text: `table ip t {\nchain base {\n\ttype filter hook input priority 0;\n\tjump c0\n}\n${chainRun(0, 15)}}\n`, line: 49, error: 'Too many links' },
  { name: 'jumps 22 deep with no base chain: loads', text: `table ip t {\n${chainRun(0, 21)}}\n` },
  { name: 'a table named with a keyword (ct)', text: 'add table ip ct\n', line: 1, error: 'unexpected ct' },
  { name: 'a chain named with a keyword (counter)', text: 'table inet t {\n\tchain counter {\n\t}\n}\n', line: 2, error: 'unexpected counter' },
  { name: 'a set named with a keyword (log)', text: 'add table ip t\nadd set ip t log { type ipv4_addr; }\n', line: 2, error: 'unexpected log' },
  { name: 'a quoted table name', text: 'add table ip "web"\n', line: 1, error: 'unexpected quoted string' },
  { name: 'a table name starting with a digit', text: 'add table ip 1abc\n', line: 1 },
  { name: 'a chain name with a colon (kube-proxy-like, ns/svc:port)', text: 'add table ip t\nadd chain ip t service-ns0/svc0:p0/tcp/80\n', line: 2 },
  { name: 'a classid-shaped chain name (ab:cd) is a name', text: 'add table ip t\nadd chain ip t ab:cd\n' },
  { name: 'names that are keywords only elsewhere: filter, nat, input, saddr, state', text: 'table ip filter {\n\tchain input {\n\t}\n\n\tchain saddr {\n\t}\n}\ntable inet nat {\n\tset state {\n\t\ttype ipv4_addr\n\t}\n}\n' },
];
