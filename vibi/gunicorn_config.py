"""gunicorn settings every web process uses (`--config python:vibi.gunicorn_config`): its runtime
files live under its own data folder (VIBI_DATA_DIR), so two instances under one HOME never share
a control socket or pid file."""

import os
from pathlib import Path

_run_dir = Path(os.environ.get("VIBI_DATA_DIR") or Path(__file__).resolve().parent.parent / "data").resolve() / "run"
_run_dir.mkdir(parents=True, exist_ok=True)

control_socket = str(_run_dir / "gunicorn.ctl")
pidfile = str(_run_dir / "gunicorn.pid")
