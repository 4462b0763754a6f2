"""The interpreter's vocabulary: named word patterns kept as data in TOML files next to this module.

A file holds one family of tables (the synonyms that name a tool, ...). Each key is a name, each value a
regular expression written as one string or as a list of strings joined in order (a long alternation
over several lines). Files are read once, at import; one that does not parse or holds a pattern that
does not compile fails the import.
"""

import re
import tomllib
from pathlib import Path

VOCABULARY_DIR = Path(__file__).parent


def load_patterns(filename: str) -> dict[str, re.Pattern[str]]:
    """The compiled patterns of `filename` (in this folder) by name."""
    with (VOCABULARY_DIR / filename).open("rb") as file:
        table = tomllib.load(file)
    return {name: re.compile(_pattern_source(filename, name, value)) for name, value in table.items()}


def _pattern_source(filename: str, name: str, value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value and all(isinstance(part, str) for part in value):
        return "".join(value)
    raise ValueError(f"{filename}: {name} must be a string or a list of strings, not {value!r}")
