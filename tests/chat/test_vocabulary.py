"""The vocabulary files of the interpreter: the code looks up exactly the patterns a file holds, and a
file with a value that is not a pattern fails to load."""

import re
from pathlib import Path

import pytest

from apps.chat.understanding import vocabulary
from apps.chat.understanding.vocabulary import load_patterns

UNDERSTANDING_DIR = Path(vocabulary.__file__).parent
LOOKUPS = {"intents.toml": r'\bWORDS\["(\w+)"\]', "planner.toml": r'\b_CUES\["(\w+)"\]'}


@pytest.mark.parametrize("filename", sorted(LOOKUPS))
def test_the_code_looks_up_exactly_the_patterns_of_a_file(filename):
    looked_up = {
        name
        for path in UNDERSTANDING_DIR.glob("*.py")
        for name in re.findall(LOOKUPS[filename], path.read_text(encoding="utf-8"))
    }
    assert looked_up == set(load_patterns(filename))


def test_a_value_that_is_not_a_pattern_fails_the_load(tmp_path, monkeypatch):
    (tmp_path / "bad.toml").write_text("fine = 'a|b'\nparts = ['a', 'b']\nnumber = 3\n", encoding="utf-8")
    monkeypatch.setattr(vocabulary, "VOCABULARY_DIR", tmp_path)
    with pytest.raises(ValueError, match="number"):
        load_patterns("bad.toml")
