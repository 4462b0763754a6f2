"""vibi/env.py: every typed reader takes its value from `<NAME>_FILE` too, and names a malformed value."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from vibi.env import env_bool, env_float, env_int, env_list, env_str


@pytest.mark.parametrize(
    ("reader", "text", "expected"),
    [
        (env_str, "from-a-file", "from-a-file"),
        (env_int, "42", 42),
        (env_float, "2.5", 2.5),
        (env_bool, "yes", True),
        (env_list, "a, b,,c", ["a", "b", "c"]),
    ],
)
def test_every_reader_takes_the_value_from_the_file_the_FILE_variable_names(
    reader, text, expected, tmp_path, monkeypatch
):
    secret = tmp_path / "value"
    secret.write_text(f"{text}\n")
    monkeypatch.setenv("VIBI_TEST_SETTING", "ignored when the file is named")
    monkeypatch.setenv("VIBI_TEST_SETTING_FILE", str(secret))
    defaults = {env_str: "d", env_int: 0, env_float: 0.0, env_bool: False, env_list: ""}
    assert reader("VIBI_TEST_SETTING", defaults[reader]) == expected


@pytest.mark.parametrize(("reader", "default"), [(env_int, 1), (env_float, 1.0), (env_bool, False)])
def test_a_malformed_value_is_named(reader, default, monkeypatch):
    monkeypatch.setenv("VIBI_TEST_SETTING", "seven")
    with pytest.raises(ImproperlyConfigured, match="VIBI_TEST_SETTING"):
        reader("VIBI_TEST_SETTING", default)


def test_unset_and_empty_give_the_default_and_a_required_string_is_named(monkeypatch):
    monkeypatch.setenv("VIBI_TEST_SETTING", "")
    assert env_int("VIBI_TEST_SETTING", 3) == 3
    monkeypatch.delenv("VIBI_TEST_SETTING")
    assert env_float("VIBI_TEST_SETTING", 0.5) == 0.5
    with pytest.raises(ImproperlyConfigured, match="VIBI_TEST_SETTING is required"):
        env_str("VIBI_TEST_SETTING")
