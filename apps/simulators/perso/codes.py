"""Every error code the Perso simulator answers with, split by where it comes from (codes.toml:
code = [HTTP status, message]).

DOCUMENTED codes appear in the error tables of the Perso API documentation (restated in
docs/perso.md). INVENTED codes are the simulator's own: the documentation names the situation (or
only the HTTP status) but not a code. The client must never depend on an invented code; it reads the
HTTP status and the documented codes, and treats anything else as an unknown error of that status.
"""

from pathlib import Path

from apps.simulators.perso.tables import toml_rows

CODES_FILE = Path(__file__).with_name("codes.toml")
DOCUMENTED_CODES = toml_rows(CODES_FILE, "documented", (int, str))
INVENTED_CODES = toml_rows(CODES_FILE, "invented", (int, str))
