/**
 * Directories and files the user names are the user's (invariant 16). Another user who
 * owns or can write a directory on the way can swap what is in it between a check and a
 * use; so a directory is accepted only when it and its parents, up to the first one root
 * owns, belong to the user (or root) and nobody else can write them, and no symlink on
 * the way was made by another user. Files are opened once, without following a link, and
 * checked on the open descriptor.
 *
 * Plain `node:fs`, synchronous, nothing else imported: the executable's code-cache loader
 * (src/cli/bin.ts) uses it before anything else is loaded.
 */
import * as Fs from "node:fs"
import * as Path from "node:path"

const me = () => process.getuid?.()

/** Ours (or root's, when we are root) and written by nobody else (Windows: per-user folders are taken as private). */
export const ownedAndPrivate = (stat: Fs.Stats): boolean =>
  process.platform === "win32" || (stat.uid === me() && (stat.mode & 0o022) === 0)

/** Why a directory (or one of its parents, `named` false) could be changed by another user; `undefined` when it cannot. */
const componentProblem = (dir: string, stat: Fs.Stats, named: boolean): string | undefined => {
  const uid = me()!
  const mode = stat.mode
  if (stat.uid !== uid && stat.uid !== 0) return `${dir} belongs to uid ${stat.uid}, not to you`
  const sticky = (mode & 0o1000) !== 0
  if ((mode & 0o002) !== 0 && (named || !sticky)) return `any user can write in ${dir} (mode ${(mode & 0o7777).toString(8)})`
  if ((mode & 0o020) !== 0 && stat.gid !== process.getgid?.() && (named || !sticky)) {
    return `the group ${stat.gid} can write in ${dir} (mode ${(mode & 0o7777).toString(8)})`
  }
  return undefined
}

/**
 * Why `path` (a directory, or where one will be created) is not safely the user's, or
 * `undefined`. Checked: every symlink on the path as given was made by the user or root;
 * the real directory (or its deepest existing ancestor) and its parents up to the first
 * one root owns are the user's or root's, and nobody else can write them (a parent that
 * is sticky, like /tmp, may be world-writable).
 */
export const directoryProblem = (path: string): string | undefined => {
  const uid = me()
  if (uid === undefined || process.platform === "win32") return undefined
  const absolute = Path.resolve(path)
  let prefix = Path.parse(absolute).root
  let existing = prefix
  for (const part of absolute.slice(prefix.length).split(Path.sep).filter(Boolean)) {
    prefix = Path.join(prefix, part)
    let stat: Fs.Stats
    try {
      stat = Fs.lstatSync(prefix)
    } catch {
      break
    }
    if (stat.isSymbolicLink() && stat.uid !== uid && stat.uid !== 0) return `${prefix} is a symbolic link made by uid ${stat.uid}`
    existing = prefix
  }
  let dir: string
  try {
    dir = Fs.realpathSync(existing)
  } catch (e) {
    return `${existing} cannot be resolved (${(e as NodeJS.ErrnoException).code ?? String(e)})`
  }
  for (let named = existing === absolute;; named = false) {
    let stat: Fs.Stats
    try {
      stat = Fs.statSync(dir)
    } catch (e) {
      return `${dir} cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})`
    }
    if (!stat.isDirectory()) return `${dir} is not a directory`
    const problem = componentProblem(dir, stat, named)
    if (problem !== undefined) return problem
    const parent = Path.dirname(dir)
    if ((stat.uid === 0 && !named) || parent === dir) return undefined
    dir = parent
  }
}

/** Opens `file` without following a link; the descriptor when it is a regular file that `accept` takes, else `undefined` (closed). */
export const openChecked = (file: string, flags: number, accept: (stat: Fs.Stats) => boolean, mode?: number): number | undefined => {
  let fd: number | undefined
  try {
    fd = Fs.openSync(file, flags | (Fs.constants.O_NOFOLLOW ?? 0), mode)
    const stat = Fs.fstatSync(fd)
    if (stat.isFile() && accept(stat)) return fd
  } catch {
    // Missing, a symlink, unreadable: not usable.
  }
  if (fd !== undefined) Fs.closeSync(fd)
  return undefined
}

/** The content of a file that is the user's own and nobody else can write, read through one descriptor. */
export const readPrivate = (file: string): Buffer | undefined => {
  const fd = openChecked(file, Fs.constants.O_RDONLY, ownedAndPrivate)
  if (fd === undefined) return undefined
  try {
    return Fs.readFileSync(fd)
  } finally {
    Fs.closeSync(fd)
  }
}

/** Writes `data` whole to a new private file (0600, never through a link) and renames it over `file`. */
export const writePrivate = (file: string, data: Uint8Array): boolean => {
  const temp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`
  try {
    const fd = Fs.openSync(temp, Fs.constants.O_WRONLY | Fs.constants.O_CREAT | Fs.constants.O_EXCL | (Fs.constants.O_NOFOLLOW ?? 0), 0o600)
    try {
      Fs.writeFileSync(fd, data)
    } finally {
      Fs.closeSync(fd)
    }
    Fs.renameSync(temp, file)
    return true
  } catch {
    Fs.rmSync(temp, { force: true })
    return false
  }
}
