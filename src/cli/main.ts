/**
 * The `netpath` command line. Every command returns its exit code; nothing here calls
 * process.exit, so tests can drive main() directly.
 */
import { Command, CommanderError } from 'commander';
import { ConfigError } from '../model/errors.js';
import { loadModel } from '../plan/model.js';
import { buildWorld, displayNs, resolveNsRef } from '../world/build.js';
import { showNetns, showBriefAddr, showRoutes, showRules } from '../world/show.js';
import { iptablesSave } from '../netfilter/save.js';
import { KERNEL } from '../model/origin.js';
import type { World } from '../world/types.js';

export interface Io {
  out(s: string): void;
  err(s: string): void;
}

const stdio: Io = {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
};

export async function main(argv: readonly string[], io: Io = stdio): Promise<number> {
  let code = 0;
  const program = new Command()
    .name('netpath')
    .description('Packet-path simulator and verifier for Linux host networking')
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .showHelpAfterError();

  program
    .command('show')
    .description("print each namespace's addresses, routes, policy rules and iptables-save, as the kernel would after the runbooks")
    .argument('<model>', 'model file (YAML)')
    .option('--ns <name>', 'only this namespace (host, netns, or host/netns)')
    .option('--json', 'machine-readable output')
    .action((model: string, opts: { ns?: string; json?: boolean }) => {
      code = cmdShow(model, opts, io);
    });

  try {
    await program.parseAsync(argv as string[], { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (e instanceof ConfigError) {
      io.err(`netpath: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  return code;
}

function namespacesToShow(world: World, ns: string | undefined): string[] {
  if (ns === undefined) return Object.keys(world.netns);
  return [resolveNsRef(world, ns, { ...KERNEL, file: '--ns' })];
}

function cmdShow(path: string, opts: { ns?: string; json?: boolean }, io: Io): number {
  const { world } = buildWorld(loadModel(path));
  const ids = namespacesToShow(world, opts.ns);
  if (opts.json) {
    const nss = ids.map((id) => {
      const ns = world.netns[id]!;
      return {
        id,
        name: displayNs(world, id),
        host: ns.host,
        addr: showBriefAddr(world, ns).split('\n').filter(Boolean),
        routes: showRoutes(world, ns).split('\n').filter(Boolean).map((l) => l.trimEnd()),
        rules: showRules(ns).split('\n').filter(Boolean),
        iptables: iptablesSave(ns.nf).split('\n').filter(Boolean),
      };
    });
    io.out(JSON.stringify({ namespaces: nss }, null, 2) + '\n');
    return 0;
  }
  const parts = ids.map((id) => `=== ${displayNs(world, id)}${displayNs(world, id) !== id ? ` (${id})` : ''} ===\n${showNetns(world, world.netns[id]!)}\n`);
  io.out(parts.join('\n'));
  return 0;
}
