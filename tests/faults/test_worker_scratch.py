"""A worker process killed mid-stage leaves its temporary files behind (found by the chaos run: a
half-downloaded Perso archive in a temporary folder nobody would ever delete). Each worker process
now works in a scratch folder named by host and pid, and a new worker process sweeps the folders of
processes that are gone, never those of live ones."""

import os
import subprocess
import tempfile
from pathlib import Path

from workers.base import scratch_dir_name, scratch_sweep_dead, use_private_scratch


def test_the_scratch_of_a_dead_worker_process_is_swept_and_a_live_ones_is_kept(tmp_path):
    dead = subprocess.Popen(["sleep", "60"])
    dead_folder = tmp_path / scratch_dir_name(dead.pid)
    (dead_folder / "tmpabc").mkdir(parents=True)
    (dead_folder / "tmpabc" / "speakers.archive.tmp").write_bytes(b"half an archive")
    dead.kill()
    dead.wait()
    live_folder = tmp_path / scratch_dir_name(os.getpid())
    live_folder.mkdir()
    (live_folder / "in-use.wav").write_bytes(b"RIFF")
    other_host = tmp_path / f"worker-another-host-{dead.pid}"  # another host's pids mean nothing here
    other_host.mkdir()

    assert scratch_sweep_dead(tmp_path) == [dead_folder]

    assert not dead_folder.exists()
    assert (live_folder / "in-use.wav").exists() and other_host.exists()


def test_a_worker_process_uses_its_own_scratch_folder(settings, tmp_path):
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    previous = tempfile.tempdir
    try:
        use_private_scratch()
        folder = Path(settings.FILE_UPLOAD_TEMP_DIR)
        assert folder == tmp_path / scratch_dir_name(os.getpid()) and folder.is_dir()
        assert Path(tempfile.mkdtemp()).parent == folder
    finally:
        tempfile.tempdir = previous
