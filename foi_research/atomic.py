"""Output folders: which ones a run may replace, and replacing them in one atomic step.

Every command that writes a folder (a dataset by `parse` / `build`, a study by `run` / `batch`)
goes through `Staging`:

- **Ownership.** A folder is replaced only when it is missing, empty, or a folder this tool wrote:
  its `manifest.json` carries the format marker (`"format": "foi-research-dataset"` or
  `"foi-research-study"`) and the list of what it holds (`"contents"`); a folder holding anything
  else (a researcher's own files next to a dataset, a web folder with some other manifest.json)
  is refused with a message, never emptied. Datasets written before the marker existed are
  recognised by their manifest (`"tool": "foi-research"`) and file names.
- **One writer at a time.** A lock file `.<name>.lock` beside the folder (an OS file lock, freed
  by the kernel if the process dies) stops a second run on the same folder with a message
  naming the process that holds it.
- **Staging.** Everything is written into `.<name>.staging-<id>` beside the folder. Staging
  folders left by a run that was killed are removed by the next run on the same folder.
- **Swap.** The finished staging folder replaces the old one in a single atomic rename: on Linux
  `renameat2(RENAME_EXCHANGE)`, on macOS `renamex_np(RENAME_SWAP)`, which exchange the two
  folders in one step (the path always holds a complete dataset, the old one or the new one);
  the old version, now in the staging path, is then deleted. Where the file system cannot
  exchange (Windows, some network file systems) the old folder is first renamed to
  `.<name>.old-<id>`; a run killed between the two renames leaves it there and the next run (or
  `read_dataset`) puts it back.
"""
from __future__ import annotations

import datetime as dt
import errno
import json
import os
import shutil
import sys
import uuid
from pathlib import Path

MANIFEST = "manifest.json"
DATASET = "foi-research-dataset"
STUDY = "foi-research-study"
# files an operating system's file browser drops into any folder it shows: a folder holding only
# these counts as empty
_OS_LITTER = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})
# what datasets written before the format marker held (top-level names)
_LEGACY_DATASET = frozenset(
    {f"{t}.parquet" for t in ("reports", "requests", "appeals", "proactive", "legacy", "quality", "panel")}
    | {"datapackage.json", "codebook.md", MANIFEST, "csv", "stata"}
)
_STAGING_KINDS = ("staging", "tmp", "build", "old")  # (tmp, build: names used by earlier versions)


class OutputError(Exception):
    """The output folder cannot be written; the message says why and what to do (exit 2)."""


def read_manifest(folder: Path) -> dict | None:
    """The folder's manifest.json as a dict, or None (missing, unreadable, not a JSON object)."""
    try:
        with open(Path(folder) / MANIFEST, "rb") as f:
            data = f.read(4 << 20)
        m = json.loads(data.decode("utf-8"))
    except (OSError, ValueError):
        return None
    return m if isinstance(m, dict) else None


def _entries(folder: Path) -> set[str]:
    return {e for e in os.listdir(folder) if e not in _OS_LITTER}


def is_ours(folder: Path, marker: str = DATASET) -> bool:
    """True when `folder` is a folder this tool wrote with that marker (whatever else it holds)."""
    m = read_manifest(folder)
    if m is None:
        return False
    if m.get("format") == marker:
        return True
    if marker == DATASET:  # written before the marker existed
        return m.get("tool") == "foi-research" and isinstance(m.get("rows"), dict)
    return marker == STUDY and isinstance(m.get("study"), str) and "notebook" in m and "files" in m


def why_not_replaceable(out: Path, marker: str = DATASET) -> str | None:
    """None when `out` may be replaced (missing, empty, or written by this tool and holding
    nothing else); otherwise the reason, as a sentence for the user."""
    what = "dataset" if marker == DATASET else "study folder"
    if not os.path.lexists(out):
        return None
    if not out.is_dir():
        return f"{out} exists and is a file, not a foi-research {what}; choose a new or empty folder"
    try:
        entries = _entries(out)
    except OSError as e:
        return f"{out} cannot be listed ({e.strerror}); check its permissions or choose another folder"
    if not entries:
        return None
    if not is_ours(out, marker):
        kind = "has a manifest.json that foi-research did not write" if MANIFEST in entries else f"has no {MANIFEST} with the foi-research format marker"
        return (
            f"{out} is not a foi-research {what} ({kind}); it was left untouched. "
            "Choose a new or empty folder, or remove it yourself if it is an old output"
        )
    m = read_manifest(out) or {}
    known = set(m.get("contents") or ())
    if not known:
        known = set(_LEGACY_DATASET) if marker == DATASET else set(m.get("files") or ()) | {MANIFEST}
        if marker == STUDY:
            known |= {p.split("/")[0] for p in known}
    known.add(MANIFEST)
    extra = sorted(entries - known)
    if extra:
        shown = ", ".join(extra[:5]) + (" …" if len(extra) > 5 else "")
        return (
            f"{out} is a foi-research {what} but also holds files it did not write ({shown}); "
            "it was left untouched. Move those files out, or choose another folder"
        )
    return None


def contents(folder: Path) -> list[str]:
    """The top-level names of a finished staging folder (with the manifest), for the manifest."""
    return sorted(set(os.listdir(folder)) | {MANIFEST})


# ---------------------------------------------------------------------------------------------
# Lock


class FolderLock:
    """An exclusive, non-blocking lock on `<parent>/.<name>.lock` (fcntl.flock; msvcrt on
    Windows), freed by the kernel if the process dies. The file is removed on release; after
    locking, the path is checked to still be the locked file (another run may have removed it
    between our open and our lock)."""

    def __init__(self, out: Path):
        self.path = out.parent / f".{out.name}.lock"
        self.out = out
        self.fd: int | None = None
        for _ in range(20):
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            if not _try_lock(fd):
                holder = _read_holder(fd)
                os.close(fd)
                raise OutputError(
                    f"another foi-research run{holder} is writing {out}; wait for it to finish, or choose another output folder"
                )
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(self.path))
            except FileNotFoundError:
                same = False
            if same:
                self.fd = fd
                break
            os.close(fd)
        else:  # pragma: no cover - only under a storm of concurrent runs
            raise OutputError(f"could not lock {self.path}; try again")
        info = f"{os.getpid()} {dt.datetime.now().isoformat(timespec='seconds')} {' '.join(sys.argv[:3])}\n"
        try:
            os.ftruncate(self.fd, 0)
            os.write(self.fd, info.encode("utf-8", "replace"))
        except OSError:
            pass

    def release(self) -> None:
        if self.fd is None:
            return
        try:
            os.unlink(self.path)
        except OSError:
            pass
        os.close(self.fd)  # (closing frees the lock)
        self.fd = None


def _try_lock(fd: int) -> bool:
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


def _read_holder(fd: int) -> str:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        words = os.read(fd, 300).decode("utf-8", "replace").split()
        return f" (process {words[0]}, started {words[1]})" if len(words) >= 2 else ""
    except OSError:
        return ""


# ---------------------------------------------------------------------------------------------
# Swap


def _exchange(a: Path, b: Path) -> bool:
    """Exchange two paths in one atomic step; False when this system cannot (then nothing
    happened). Raises OSError for real failures (permissions, a mount point, ...)."""
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:  # pragma: no cover
        return False
    fa, fb = os.fsencode(a), os.fsencode(b)
    if sys.platform.startswith("linux") and hasattr(libc, "renameat2"):
        r = libc.renameat2(-100, fa, -100, fb, 2)  # AT_FDCWD, RENAME_EXCHANGE
    elif sys.platform == "darwin" and hasattr(libc, "renamex_np"):
        r = libc.renamex_np(fa, fb, 2)  # RENAME_SWAP
    else:
        return False
    if r == 0:
        return True
    e = ctypes.get_errno()
    if e in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(e, os.strerror(e), str(b))


def swap(new: Path, out: Path) -> None:
    """Put the folder `new` at `out` in one atomic step; the previous `out` is deleted."""
    if not os.path.lexists(out):
        os.rename(new, out)
        return
    if _exchange(new, out):
        shutil.rmtree(new, ignore_errors=True)  # (the old version, now at the staging path)
        return
    old = out.parent / f".{out.name}.old-{uuid.uuid4().hex[:8]}"
    os.rename(out, old)
    os.rename(new, out)  # a kill before this line leaves `old`, which _recover puts back
    shutil.rmtree(old, ignore_errors=True)


def _siblings(out: Path, kinds=_STAGING_KINDS) -> list[Path]:
    try:
        names = os.listdir(out.parent)
    except OSError:
        return []
    pre = [f".{out.name}.{k}-" for k in kinds]
    return [out.parent / n for n in names if n.startswith(tuple(pre))]


def recover(out: Path, marker: str = DATASET) -> bool:
    """Put back a previous version left by a swap that was killed between its two renames (only
    on file systems without an atomic exchange). True when something was put back."""
    if os.path.lexists(out):
        return False
    olds = [p for p in _siblings(out, ("old",)) if p.is_dir() and is_ours(p, marker)]
    if not olds:
        return False
    newest = max(olds, key=lambda p: p.stat().st_mtime)
    try:
        os.rename(newest, out)
    except OSError:
        return False
    return True


def _clean_stale(out: Path) -> None:
    """Remove staging folders of earlier runs on `out` that were killed (the caller holds the
    lock, so no live run owns them)."""
    for p in _siblings(out):
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)


def clean_stale(out: str | os.PathLike) -> bool:
    """Remove the staging folders and lock of `out` left by runs that were ended, unless a run
    holds it now. True when cleaned."""
    out = resolve_out(out)
    try:
        lock = FolderLock(out)
    except (OutputError, OSError):
        return False
    try:
        _clean_stale(out)
    finally:
        lock.release()
    return True


def resolve_out(out: str | os.PathLike) -> Path:
    """The folder to write: absolute; a symbolic link is followed (its target is replaced)."""
    p = Path(os.path.abspath(out))
    if p.is_symlink():
        p = Path(os.path.realpath(p))
    return p


class Staging:
    """A staging folder for `out`, to be committed (swapped in) or aborted. Checks that `out` may
    be replaced, takes the lock, removes stale staging folders of killed runs."""

    def __init__(self, out: str | os.PathLike, marker: str = DATASET):
        self.out = resolve_out(out)
        self.marker = marker
        if self.out.parent == self.out or os.path.ismount(self.out):
            raise OutputError(
                f"{self.out} is a mount point (or a file system root): it cannot be replaced as a whole. "
                f"Give a folder inside it, e.g. {self.out / 'dataset'}"
            )
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self.lock = FolderLock(self.out)
        self.path: Path | None = None
        try:
            recover(self.out, marker)
            why = why_not_replaceable(self.out, marker)
            if why:
                raise OutputError(why)
            _clean_stale(self.out)
            self.path = self.out.parent / f".{self.out.name}.staging-{uuid.uuid4().hex[:8]}"
            self.path.mkdir()
        except BaseException:
            self.lock.release()
            raise

    def commit(self) -> Path:
        """Swap the staging folder in for `out` (checking again that `out` may be replaced)."""
        try:
            why = why_not_replaceable(self.out, self.marker)
            if why:
                raise OutputError(why)
            swap(self.path, self.out)
            self.path = None
            return self.out
        except BaseException:
            self.abort()
            raise
        finally:
            self.lock.release()

    def abort(self) -> None:
        if self.path is not None:
            shutil.rmtree(self.path, ignore_errors=True)
            self.path = None
        self.lock.release()

    def __enter__(self):
        return self

    def __exit__(self, et, ev, tb):
        if self.path is not None:
            if et is None:
                self.commit()
            else:
                self.abort()
        return False
