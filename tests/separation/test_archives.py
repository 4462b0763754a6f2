"""Speaker archives from upstream are untrusted: hostile entries are refused, nothing lands outside
the destination folder, and one bad entry does not lose the good ones."""

import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from apps.separation.archives import ArchiveError, archive_extract_files, archive_kind


def _add_bytes(archive: tarfile.TarFile, name: str, payload: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(payload)
    archive.addfile(info, io.BytesIO(payload))


def _all_files_under(root: Path) -> set[Path]:
    return {path for path in root.rglob("*") if path.is_file() or path.is_symlink()}


@pytest.fixture
def sandbox(tmp_path) -> Path:
    """A sandbox whose parent also holds a sentinel folder: anything escaping the job folder shows up."""
    (tmp_path / "outside").mkdir()
    return tmp_path


def test_malicious_tar_entries_are_refused_and_nothing_is_written_outside(sandbox):
    archive_path = sandbox / "speakers.tar"
    with tarfile.open(archive_path, "w") as archive:
        _add_bytes(archive, "SPEAKER_1.wav", b"voice-one")
        _add_bytes(archive, "../outside/escaped.wav", b"evil")
        _add_bytes(archive, "../../etc/evil.wav", b"evil")
        _add_bytes(archive, str(sandbox / "outside" / "absolute.wav"), b"evil")
        _add_bytes(archive, "nested/../../outside/sneaky.wav", b"evil")
        link = tarfile.TarInfo("link.wav")
        link.type = tarfile.SYMTYPE
        link.linkname = str(sandbox / "outside" / "target.wav")
        archive.addfile(link)
        hard = tarfile.TarInfo("hard.wav")
        hard.type = tarfile.LNKTYPE
        hard.linkname = "SPEAKER_1.wav"
        archive.addfile(hard)
        device = tarfile.TarInfo("device.wav")
        device.type = tarfile.CHRTYPE
        archive.addfile(device)
        _add_bytes(archive, "huge.wav", b"x" * 5000)
        _add_bytes(archive, "speakers/SPEAKER_0.wav", b"voice-zero")
    job_folder = sandbox / "job"
    before_outside = _all_files_under(sandbox / "outside")

    contents = archive_extract_files(archive_path=archive_path, dest_dir=job_folder, max_entry_bytes=1000)

    assert sorted(Path(item.entry_name).name for item in contents.files) == ["SPEAKER_0.wav", "SPEAKER_1.wav"]
    assert {item.path.read_bytes() for item in contents.files} == {b"voice-one", b"voice-zero"}
    refused = {item.entry_name: item.reason for item in contents.refused}
    assert refused["../outside/escaped.wav"] == "path traversal"
    assert refused["../../etc/evil.wav"] == "path traversal"
    assert refused["nested/../../outside/sneaky.wav"] == "path traversal"
    assert refused[str(sandbox / "outside" / "absolute.wav")] == "absolute path"
    assert "not a regular file" in refused["link.wav"]
    assert "not a regular file" in refused["hard.wav"]
    assert "not a regular file" in refused["device.wav"]
    assert "larger than 1000 bytes" in refused["huge.wav"]
    assert _all_files_under(sandbox / "outside") == before_outside
    assert not (sandbox.parent / "etc" / "evil.wav").exists()
    for written in _all_files_under(job_folder):
        assert written.resolve().is_relative_to(job_folder.resolve())
        assert not written.is_symlink()


def test_entry_whose_header_understates_its_size_is_cut_off(sandbox):
    """Sizes are counted while copying (zip headers can lie, compression can bomb)."""
    archive_path = sandbox / "bomb.zip"
    with zipfile.ZipFile(archive_path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("SPEAKER_0.wav", b"\0" * 2_000_000)
        archive.writestr("SPEAKER_1.wav", b"ok")

    contents = archive_extract_files(
        archive_path=archive_path, dest_dir=sandbox / "job", max_entry_bytes=10_000_000, max_total_bytes=1_000_000
    )

    assert [Path(item.entry_name).name for item in contents.files] == ["SPEAKER_1.wav"]
    assert contents.refused and contents.refused[0].entry_name == "SPEAKER_0.wav"
    assert sum(path.stat().st_size for path in (sandbox / "job").iterdir()) == 2


def test_zip_with_traversal_absolute_and_symlink_entries(sandbox):
    archive_path = sandbox / "speakers.zip"
    with zipfile.ZipFile(archive_path, "w") as archive:
        archive.writestr("SPEAKER_0.wav", b"zero")
        archive.writestr("../outside/escaped.wav", b"evil")
        archive.writestr("/abs/evil.wav", b"evil")
        archive.writestr("C:\\windows\\evil.wav", b"evil")
        link = zipfile.ZipInfo("link.wav")
        link.external_attr = (0o120777 << 16) | 0
        archive.writestr(link, str(sandbox / "outside" / "target"))

    contents = archive_extract_files(archive_path=archive_path, dest_dir=sandbox / "job")

    assert [item.path.read_bytes() for item in contents.files] == [b"zero"]
    reasons = sorted(item.reason for item in contents.refused)
    assert reasons.count("path traversal") == 1
    assert reasons.count("absolute path") == 2
    assert any("not a regular file" in reason for reason in reasons)
    assert _all_files_under(sandbox / "outside") == set()


def test_entry_count_is_bounded(sandbox):
    archive_path = sandbox / "many.tar"
    with tarfile.open(archive_path, "w") as archive:
        for index in range(6):
            _add_bytes(archive, f"SPEAKER_{index}.wav", b"v")

    contents = archive_extract_files(archive_path=archive_path, dest_dir=sandbox / "job", max_entries=4)

    assert len(contents.files) == 4
    assert [item.reason for item in contents.refused] == ["more than 4 files", "more than 4 files"]


def test_format_is_read_from_the_bytes_not_the_name(sandbox):
    gz_tar = sandbox / "speakers.zip"  # a gzipped tar with a misleading name
    with tarfile.open(gz_tar, "w:gz") as archive:
        _add_bytes(archive, "SPEAKER_0.wav", b"zero")
    not_archive = sandbox / "speakers.tar"
    not_archive.write_bytes(b"RIFF....WAVEfmt this is audio, not an archive")

    assert archive_kind(gz_tar) == "tar"
    assert [
        item.path.read_bytes() for item in archive_extract_files(archive_path=gz_tar, dest_dir=sandbox / "a").files
    ] == [b"zero"]
    with pytest.raises(ArchiveError):
        archive_extract_files(archive_path=not_archive, dest_dir=sandbox / "b")


def test_truncated_tar_keeps_the_entries_read_before_the_damage(sandbox):
    archive_path = sandbox / "truncated.tar"
    with tarfile.open(archive_path, "w") as archive:
        _add_bytes(archive, "SPEAKER_0.wav", b"a" * 600)
        _add_bytes(archive, "SPEAKER_1.wav", b"b" * 5000)
    data = archive_path.read_bytes()
    archive_path.write_bytes(data[: 512 + 1024 + 512 + 700])  # cut inside the second entry's data

    contents = archive_extract_files(archive_path=archive_path, dest_dir=sandbox / "job")

    assert [item.path.read_bytes() for item in contents.files] == [b"a" * 600]
    assert [item.entry_name for item in contents.refused] == ["SPEAKER_1.wav"]
