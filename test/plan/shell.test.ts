import { describe, it, expect } from 'vitest';
import { splitRunbook } from '../../src/plan/shell.js';
import { ConfigError } from '../../src/model/errors.js';
import { err } from './helpers.js';

const argvs = (text: string, first = 1): unknown[] =>
  splitRunbook(text, 'f', first).map((l) => ({ line: l.line, text: l.text, cmds: l.pipelines.map((p) => [p.next, ...p.commands.map((c) => c.argv.join('¦'))]) }));

const fails = (text: string): ConfigError => {
  try {
    splitRunbook(text, 'f', 1);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('no error');
};

describe('shell: prompts, comments, continuations', () => {
  it('strips $ prompts and user@host prompts; "# " is a comment', () => {
    expect(argvs('$ ip link\n# ip link del x\nroot@web2:~# ip r\n[root@web2 ~]# ip a\nme@h:/tmp$ ls')).toEqual([
      { line: 1, text: 'ip link', cmds: [[';', 'ip¦link']] },
      { line: 3, text: 'ip r', cmds: [[';', 'ip¦r']] },
      { line: 4, text: 'ip a', cmds: [[';', 'ip¦a']] },
      { line: 5, text: 'ls', cmds: [[';', 'ls']] },
    ]);
  });

  it('unprompted runbooks work; in a prompted one an unprompted line is output pasted by mistake', () => {
    expect(argvs('ip link\n\n  ip r  ')).toEqual([
      { line: 1, text: 'ip link', cmds: [[';', 'ip¦link']] },
      { line: 3, text: 'ip r', cmds: [[';', 'ip¦r']] },
    ]);
    const e = fails('$ route -n\nDestination     Gateway         Genmask');
    expect([e.code, e.line]).toEqual(['syntax', 2]);
  });

  it('joins backslash continuations and keeps the first line number', () => {
    expect(argvs('\n$ ip link add v1 \\\n    type veth \\\n  peer name v1p\n$ ip r', 10)).toEqual([
      { line: 11, text: 'ip link add v1 type veth peer name v1p', cmds: [[';', 'ip¦link¦add¦v1¦type¦veth¦peer¦name¦v1p']] },
      { line: 14, text: 'ip r', cmds: [[';', 'ip¦r']] },
    ]);
  });

  it('quotes and escapes', () => {
    const l = splitRunbook(`echo 'a b' "c \\"d\\" \\$x" e\\ f g#h 'i\\j' # comment`, 'f', 1)[0]!;
    expect(l.pipelines[0]!.commands[0]!.argv).toEqual(['echo', 'a b', 'c "d" $x', 'e f', 'g#h', 'i\\j']);
  });

  it('operators: ; && || & | and redirections', () => {
    const [l] = splitRunbook('a 1; b && c || d & e | f 2>/dev/null >out <in >>app 2>&1', 'f', 1);
    expect(l!.pipelines.map((p) => [p.next, p.commands.map((c) => c.argv.join(' '))])).toEqual([
      [';', ['a 1']],
      ['&&', ['b']],
      ['||', ['c']],
      ['&', ['d']],
      [';', ['e', 'f']],
    ]);
    expect(l!.pipelines[4]!.commands[1]!.redirects).toEqual([
      { op: '>', fd: 2, target: '/dev/null' },
      { op: '>', fd: 1, target: 'out' },
      { op: '<', fd: 0, target: 'in' },
      { op: '>>', fd: 1, target: 'app' },
      { op: '>&', fd: 2, target: '1' },
    ]);
  });

  it('errors', () => {
    expect(fails("echo 'abc").code).toBe('syntax');
    expect(fails('echo "abc').code).toBe('syntax');
    expect(fails('ip link | ').code).toBe('syntax');
    expect(fails('; ip link').code).toBe('syntax');
    expect(fails('echo >').code).toBe('syntax');
    expect(fails('echo $HOME').code).toBe('unsupported');
    expect(fails('ln -s /proc/$(pidof x)/ns/net /var/run/netns/x').detail).toContain('$(pidof x)');
    expect(fails('echo `id`').code).toBe('unsupported');
    expect(fails('cat <<EOF').code).toBe('unsupported');
    expect(fails('(ip link)').code).toBe('unsupported');
    expect(fails('{ ip link; }').code).toBe('unsupported');
    const e = fails('\n\nip link add "x');
    expect([e.file, e.line, e.text]).toEqual(['f', 3, 'ip link add "x']);
  });

  it('only blanks and metacharacters end a word, as in bash: other white space is part of it', () => {
    // a no-break space joins two words into one (bash: `ip: command "link\u00a0show" ...`)
    expect(argvs('ip link\u00a0show\nip\u3000r')).toEqual([
      { line: 1, text: 'ip link\u00a0show', cmds: [[';', 'ip¦link\u00a0show']] },
      { line: 2, text: 'ip\u3000r', cmds: [[';', 'ip\u3000r']] },
    ]);
    // a vertical tab or form feed is a control character of a word: refused at its line
    for (const c of ['\v', '\f']) {
      const e = err(`ip link\nip link${c}show`);
      expect([e.code, e.line, e.detail]).toEqual(['unsupported', 2, expect.stringContaining('control character')]);
    }
  });
});
