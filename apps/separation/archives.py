"""Safe unpacking of Perso's per-speaker archive (a tar in practice, sometimes zip: the format is read
from the bytes, never from a name).

Only regular files are written, each under a fresh name inside the destination folder: no path
from the archive is ever joined to a path of ours, so `../`, absolute paths, links and devices
cannot place a byte outside it. Entry count and sizes are bounded while reading (headers can lie),
and one bad entry is refused alone without losing the others.
"""

import functools
import logging
import posixpath
import stat
import tarfile
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from apps.core.storage import safe_file_name

logger = logging.getLogger(__name__)

MAX_ENTRIES = 32
MAX_ENTRY_BYTES = 1024 * 1024 * 1024
MAX_TOTAL_BYTES = 4 * 1024 * 1024 * 1024
# Members examined at most (directories, skipped and refused ones included): stops archives with
# millions of tiny entries.
MAX_MEMBERS_SCANNED = 1000
_COPY_CHUNK = 1024 * 1024


class ArchiveError(Exception):
    """The file is not an archive we can read."""


@dataclass(frozen=True)
class ExtractedFile:
    entry_name: str  # the entry's name in the archive (its base name orders the speakers)
    path: Path
    size: int


@dataclass(frozen=True)
class RefusedEntry:
    entry_name: str
    reason: str


@dataclass
class ArchiveContents:
    files: list[ExtractedFile] = field(default_factory=list)
    refused: list[RefusedEntry] = field(default_factory=list)


@dataclass(frozen=True)
class _Member:
    name: str
    is_regular_file: bool
    declared_size: int
    open: Callable[[], IO[bytes]]


def archive_kind(path: Path) -> str:
    """ "tar" or "zip" from the bytes (gzip/bzip2/xz-compressed tars included); ArchiveError otherwise."""
    if zipfile.is_zipfile(path):
        return "zip"
    try:
        if tarfile.is_tarfile(path):
            return "tar"
    except (OSError, tarfile.TarError) as exc:
        raise ArchiveError(f"unreadable archive: {exc}") from exc
    raise ArchiveError("not a tar or zip archive")


def unsafe_entry_reason(name: str) -> str | None:
    """Why an entry name may not be used, or None. Names are only used for ordering, but an archive
    carrying traversal or absolute names is hostile or broken, so those entries are refused."""
    normalized = name.replace("\\", "/")
    if not normalized or "\x00" in normalized:
        return "empty or NUL in name"
    if normalized.startswith("/") or (len(normalized) > 1 and normalized[1] == ":"):
        return "absolute path"
    if ".." in normalized.split("/"):
        return "path traversal"
    return None


def archive_extract_files(
    *,
    archive_path: Path,
    dest_dir: Path,
    max_entries: int = MAX_ENTRIES,
    max_entry_bytes: int = MAX_ENTRY_BYTES,
    max_total_bytes: int = MAX_TOTAL_BYTES,
) -> ArchiveContents:
    """Writes the archive's regular files into `dest_dir` (created if needed) as `entry_<n>_<base name>`."""
    dest_dir.mkdir(parents=True, exist_ok=True)
    contents = ArchiveContents()
    total_bytes = 0
    with _members(archive_path) as members:
        for scanned, member in enumerate(members):
            if scanned >= MAX_MEMBERS_SCANNED:
                contents.refused.append(RefusedEntry(member.name, "too many members in archive"))
                break
            base_name = posixpath.basename(member.name.replace("\\", "/").rstrip("/"))
            if not member.is_regular_file:
                if not member.name.endswith("/"):
                    contents.refused.append(RefusedEntry(member.name, "not a regular file (link, device or fifo)"))
                continue
            reason = unsafe_entry_reason(member.name)
            if reason is None and (not base_name or base_name.startswith(".")):
                continue  # metadata such as macOS `._x` or `.DS_Store`: not a stem, not hostile
            if reason is None and len(contents.files) >= max_entries:
                reason = f"more than {max_entries} files"
            if reason is None and member.declared_size > max_entry_bytes:
                reason = f"entry larger than {max_entry_bytes} bytes"
            if reason is None and total_bytes + member.declared_size > max_total_bytes:
                reason = f"archive content larger than {max_total_bytes} bytes"
            if reason is not None:
                contents.refused.append(RefusedEntry(member.name, reason))
                continue
            target = dest_dir / f"entry_{len(contents.files):03d}_{safe_file_name(base_name)}"
            budget = min(max_entry_bytes, max_total_bytes - total_bytes)
            try:
                written = _copy_bounded(member, target, budget=budget)
            except (OSError, tarfile.TarError, zipfile.BadZipFile, EOFError, _TooLarge, RuntimeError) as exc:
                target.unlink(missing_ok=True)
                contents.refused.append(RefusedEntry(member.name, f"unreadable entry: {exc}"))
                continue
            if written == 0:
                target.unlink(missing_ok=True)
                contents.refused.append(RefusedEntry(member.name, "empty entry"))
                continue
            total_bytes += written
            contents.files.append(ExtractedFile(entry_name=member.name, path=target, size=written))
    for refused in contents.refused:
        logger.warning("archive %s: refused entry %r: %s", archive_path.name, refused.entry_name, refused.reason)
    return contents


class _TooLarge(Exception):
    pass


def _copy_bounded(member: _Member, target: Path, *, budget: int) -> int:
    written = 0
    with member.open() as source, open(target, "xb") as sink:
        while True:
            chunk = source.read(_COPY_CHUNK)
            if not chunk:
                return written
            written += len(chunk)
            if written > budget:
                raise _TooLarge(f"entry exceeds {budget} bytes")
            sink.write(chunk)


@contextmanager
def _members(archive_path: Path) -> Iterator[Iterator[_Member]]:
    kind = archive_kind(archive_path)
    if kind == "zip":
        try:
            with zipfile.ZipFile(archive_path) as archive:
                yield _zip_members(archive)
        except zipfile.BadZipFile as exc:
            raise ArchiveError(f"unreadable zip: {exc}") from exc
        return
    try:
        with tarfile.open(archive_path, "r:*") as archive:
            yield _tar_members(archive)
    except tarfile.TarError as exc:
        raise ArchiveError(f"unreadable tar: {exc}") from exc


def _tar_members(archive: tarfile.TarFile) -> Iterator[_Member]:
    while True:
        try:
            info = archive.next()
        except tarfile.TarError as exc:
            logger.warning("tar archive truncated or corrupt after %d members: %s", len(archive.members), exc)  # type: ignore[attr-defined]  # typeshed omits TarFile.members
            return
        if info is None:
            return

        def opener(info=info) -> IO[bytes]:
            handle = archive.extractfile(info)
            if handle is None:
                raise OSError("no data")
            return handle

        yield _Member(
            name=info.name if not info.isdir() else info.name.rstrip("/") + "/",
            is_regular_file=info.isreg(),
            declared_size=max(0, info.size),
            open=opener,
        )


def _zip_members(archive: zipfile.ZipFile) -> Iterator[_Member]:
    for info in archive.infolist():
        # Unix mode in the high bits when the archive was made on Unix; no type bits means a plain file.
        file_type = stat.S_IFMT(info.external_attr >> 16)
        is_link_or_special = file_type not in (0, stat.S_IFREG, stat.S_IFDIR)
        yield _Member(
            name=info.filename,
            is_regular_file=not info.is_dir() and not is_link_or_special,
            declared_size=max(0, info.file_size),
            open=functools.partial(archive.open, info),
        )
