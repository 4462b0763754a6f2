"""The simulated `/download` targets (downloads.toml): target → (section of the result, the link's
field in it, the output manifest's file key)."""

import tomllib
from pathlib import Path

TARGETS_FILE = Path(__file__).with_name("downloads.toml")


def _target_table(table: dict[str, object]) -> dict[str, tuple[str, str, str]]:
    """Each target's three names; anything else in the file is refused at import."""
    targets = {}
    for target, entry in table.items():
        match entry:
            case [str(section), str(field), str(file_key)]:
                targets[target] = (section, field, file_key)
            case _:
                raise ValueError(f"{TARGETS_FILE}: {target} must be [section, field, file key], got {entry!r}")
    return targets


_TABLES = tomllib.loads(TARGETS_FILE.read_text(encoding="utf-8"))
TRANSLATION_TARGETS = _target_table(_TABLES["translation"])
SEPARATION_TARGETS = _target_table(_TABLES["separation"])
