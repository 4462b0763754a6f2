"""Every error code the Perso simulator answers with, split by where it comes from (codes.toml).

DOCUMENTED codes appear in the error tables of the Perso API documentation (restated in
docs/perso.md). INVENTED codes are the simulator's own: the documentation names the situation (or
only the HTTP status) but not a code. The client must never depend on an invented code; it reads the
HTTP status and the documented codes, and treats anything else as an unknown error of that status.
"""

import tomllib
from pathlib import Path

CODES_FILE = Path(__file__).with_name("codes.toml")


def _code_table(table: dict[str, object]) -> dict[str, tuple[int, str]]:
    """code → (HTTP status, message); anything else in the file is refused at import."""
    codes = {}
    for code, entry in table.items():
        match entry:
            case [int(status), str(message)] if 400 <= status <= 599:
                codes[code] = (status, message)
            case _:
                raise ValueError(f"{CODES_FILE}: {code} must be [HTTP error status, message], got {entry!r}")
    return codes


_TABLES = tomllib.loads(CODES_FILE.read_text(encoding="utf-8"))
DOCUMENTED_CODES = _code_table(_TABLES["documented"])
INVENTED_CODES = _code_table(_TABLES["invented"])
