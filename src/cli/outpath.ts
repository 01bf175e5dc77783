/**
 * Output paths given on the command line (`--pcap DIR`, `--pcapng FILE`, `import -o FILE`):
 * checked before any work is done, and written without following symbolic links.
 *
 * - A file is written to a fresh temporary name in the same folder (O_CREAT|O_EXCL|O_NOFOLLOW,
 *   so neither an existing file nor a link planted there is opened), then renamed over the
 *   target: rename(2) replaces a symbolic link at the target, it never writes through it.
 * - A folder is created only when its parent exists (never `mkdir -p`: Node's recursive mkdir
 *   spins forever on a path such as /proc/foo, where mkdir answers ENOENT under an existing parent).
 * - The target must be what is asked for: a folder for a folder, a regular file (or nothing) for
 *   a file. A FIFO, a device or a socket is refused, as opening one could block or write elsewhere.
 *
 * Every problem is a ConfigError with code `option` naming the option: exit code 2.
 */
import { closeSync, constants, lstatSync, mkdirSync, openSync, renameSync, statSync, unlinkSync, writeSync, type Stats } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ConfigError } from '../model/errors.js';

function optionError(opt: string, detail: string): ConfigError {
  return new ConfigError('option', opt, 0, detail);
}

function tryLstat(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw e;
  }
}

function why(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  return err.code !== undefined ? `${err.code}: ${err.message.replace(/^[A-Z]+: /, '')}` : String(e);
}

/** The parent of `path` must be an existing folder. */
function checkParent(path: string, opt: string): void {
  const parent = dirname(path);
  let st: Stats;
  try {
    st = statSync(parent);
  } catch (e) {
    throw optionError(opt, `cannot write "${path}": its folder "${parent}" does not exist (${why(e)}); netpath creates only the last folder of a path`);
  }
  if (!st.isDirectory()) throw optionError(opt, `cannot write "${path}": "${parent}" is not a folder`);
}

/**
 * `--pcap DIR` before any simulation: an existing folder (a link to one is fine: the user named
 * it), or a name whose parent folder exists. Returns whether the folder must be created.
 */
export function checkOutputDir(dir: string, opt: string): { readonly create: boolean } {
  if (dir === '') throw optionError(opt, 'the folder name is empty');
  const l = tryLstat(dir);
  if (l === undefined) {
    checkParent(dir, opt);
    return { create: true };
  }
  let st: Stats;
  try {
    st = statSync(dir);
  } catch (e) {
    throw optionError(opt, `"${dir}" is a symbolic link that leads nowhere (${why(e)})`);
  }
  if (!st.isDirectory()) throw optionError(opt, `"${dir}" is ${kindOf(st)}, not a folder`);
  return { create: false };
}

/** `--pcapng FILE` / `-o FILE` before any work: a regular file or nothing, under an existing folder, and not a link. */
export function checkOutputFile(file: string, opt: string): void {
  if (file === '') throw optionError(opt, 'the file name is empty');
  if (file.endsWith('/')) throw optionError(opt, `"${file}" names a folder; give a file name`);
  const l = tryLstat(file);
  if (l !== undefined) {
    if (l.isSymbolicLink()) throw optionError(opt, `"${file}" is a symbolic link; netpath does not write through links (give the real path)`);
    if (!l.isFile()) throw optionError(opt, `"${file}" is ${kindOf(l)}, not a file`);
  }
  checkParent(file, opt);
}

function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a folder';
  if (st.isFile()) return 'a file';
  if (st.isSymbolicLink()) return 'a symbolic link';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  return 'not a regular file';
}

/** Creates the folder checked by checkOutputDir (its parent exists; no recursion). */
export function makeOutputDir(dir: string, opt: string): void {
  try {
    mkdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST' && statSync(dir).isDirectory()) return;
    throw optionError(opt, `cannot create the folder "${dir}" (${why(e)})`);
  }
}

/** Writes `bytes` to `path` through a temporary file and a rename; never follows a link. */
export function writeFileSafely(path: string, bytes: Uint8Array | string, opt: string): void {
  const tmp = join(dirname(path), `.${basename(path)}.netpath-${process.pid}-${Math.random().toString(36).slice(2, 10)}.tmp`);
  let fd: number;
  try {
    fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
  } catch (e) {
    throw optionError(opt, `cannot write in "${dirname(path)}" (${why(e)})`);
  }
  try {
    const data = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
    let off = 0;
    while (off < data.length) off += writeSync(fd, data, off, data.length - off);
    closeSync(fd);
    const target = tryLstat(path);
    if (target !== undefined && target.isDirectory()) throw optionError(opt, `"${path}" is a folder, not a file`);
    renameSync(tmp, path);
  } catch (e) {
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
    try {
      unlinkSync(tmp);
    } catch {
      // already renamed or gone
    }
    if (e instanceof ConfigError) throw e;
    throw optionError(opt, `cannot write "${path}" (${why(e)})`);
  }
}

export { tryLstat };
