"""Upload streaming: peak RSS of the web process while a 1 GB multipart upload streams in, and
its throughput next to a plain file copy on the same disk.

Run: .venv/bin/python tests/benchmarks/upload_bench.py [size_mb]   (needs Postgres and Redis)
Goal: peak RSS under 100 MB above idle.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import bench_environment, gunicorn_server, recreate_database, setup_django

DATABASE = "vibi_bench_upload"
CHUNK = 1024 * 1024


def peak_rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM")


def current_rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def worker_pid(master_port: int) -> int:
    output = subprocess.run(
        ["pgrep", "-f", f"gunicorn vibi.wsgi --bind 127.0.0.1:{master_port}"], capture_output=True, text=True
    )
    pids = sorted(int(pid) for pid in output.stdout.split())
    return pids[-1]  # the single worker is forked after the master


def multipart_body(path: Path, boundary: str):
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.mp4"\r\n'
        "Content-Type: video/mp4\r\n\r\n"
    ).encode()
    spec = '{"mediaType":"VIDEO","numberOfSpeakers":2,"sourceLanguageCode":"auto","trimStartMs":null,"trimEndMs":null,"editedRenderJobId":null}'
    tail = (
        f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="spec"\r\n\r\n{spec}\r\n--{boundary}--\r\n'
    ).encode()
    size = len(head) + path.stat().st_size + len(tail)

    class Body:
        """Iterable with a length: requests streams it with a Content-Length, never whole in memory."""

        def __len__(self) -> int:
            return size

        def __iter__(self):
            yield head
            with path.open("rb") as handle:
                while block := handle.read(CHUNK):
                    yield block
            yield tail

    return Body(), size


def main() -> None:
    size_mb = int(sys.argv[1]) if len(sys.argv) > 1 else 1024
    recreate_database(DATABASE)
    environment = bench_environment(DATABASE) | {"MAX_UPLOAD_FILE_SIZE_MB": str(size_mb + 10)}
    setup_django(environment)
    from apps.accounts.models import User
    from apps.accounts.services import access_token_issue

    user = User.objects.create(username="google:up", google_sub="up", email="up@x.test")
    token = access_token_issue(user=user).token
    folder = Path(tempfile.mkdtemp(prefix="upload-bench-", dir=environment["VIBI_DATA_DIR"]))
    source = folder / "big.bin"
    with source.open("wb") as handle:
        block = os.urandom(CHUNK)
        for _ in range(size_mb):
            handle.write(block)
    started = time.monotonic()
    shutil.copyfile(source, folder / "copy.bin")
    copy_sec = time.monotonic() - started
    (folder / "copy.bin").unlink()

    with gunicorn_server(environment, workers=1) as base:
        port = int(base.rsplit(":", 1)[1])
        requests.get(f"{base}/healthz", timeout=10)
        pid = worker_pid(port)
        idle_kb = current_rss_kb(pid)
        boundary = uuid.uuid4().hex
        body, _ = multipart_body(source, boundary)
        started = time.monotonic()
        response = requests.post(
            f"{base}/api/v2/separate",
            data=body,
            headers={
                "Authorization": f"Bearer {token}",
                "Content-Type": f"multipart/form-data; boundary={boundary}",
            },
            timeout=3600,
        )
        upload_sec = time.monotonic() - started
        peak_kb = peak_rss_kb(pid)
    shutil.rmtree(folder, ignore_errors=True)
    print(f"upload of {size_mb} MB (random bytes, answered {response.status_code} {response.text[:120]!r})")
    print(
        f"  web worker RSS idle {idle_kb / 1024:.0f} MB, peak {peak_kb / 1024:.0f} MB, "
        f"peak above idle {(peak_kb - idle_kb) / 1024:.0f} MB (goal < 100)"
    )
    print(
        f"  upload {size_mb / upload_sec:.0f} MB/s ({upload_sec:.1f} s) vs plain copy {size_mb / copy_sec:.0f} MB/s "
        f"({copy_sec:.1f} s): ratio {copy_sec / upload_sec:.2f}"
    )


if __name__ == "__main__":
    main()
