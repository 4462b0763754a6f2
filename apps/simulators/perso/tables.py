"""The Perso simulator's data tables: TOML files next to the modules that use them, checked at import."""

import tomllib
from pathlib import Path
from typing import Any


def toml_rows(path: Path, table: str, types: tuple[type, ...]) -> dict[str, tuple[Any, ...]]:
    """`[table]` of the TOML file at `path`: each name → its row, a list of one value of each of
    `types` in order; anything else is refused at import."""
    rows = tomllib.loads(path.read_text(encoding="utf-8"))[table]
    for name, row in rows.items():
        if not (isinstance(row, list) and [type(value) for value in row] == list(types)):
            names = ", ".join(kind.__name__ for kind in types)
            raise ValueError(f"{path.name} [{table}] {name}: expected [{names}], got {row!r}")
    return {name: tuple(row) for name, row in rows.items()}
