"""The helpers the resolvers share: roles read from the words around a mention, and the project
context's id lookup by the kind of item an argument refers to."""

import pytest

from apps.chat.context import ProjectContext
from apps.chat.understanding.cues import Roles, around

ROLES = Roles(
    ("later", None, r"later|뒤로"),
    ("head", r"first|처음", r"of\s+the\s+start"),
    ("point", r"at", r"에"),
)


@pytest.mark.parametrize(
    ("text", "start", "end", "role"),
    [
        ("delete the first 3 s", 17, 20, "head"),
        ("the 3 s of the start", 4, 7, "head"),
        ("move it 3 s later", 8, 11, "later"),
        ("3초 뒤로 밀어", 0, 2, "later"),
        ("start it at 3 s", 12, 15, "point"),
        ("처음 3초에", 3, 5, "head"),  # both head (before) and point (after) fit: the first row wins
        ("first of all, 3 s", 14, 17, None),  # "first" does not end right before the mention
        ("3 s, later", 0, 3, None),  # "later" does not start right after it
    ],
)
def test_roles_take_the_first_cue_that_fits(text, start, end, role):
    before, after = around(text, start, end, before=24, after=24)
    assert ROLES.of(before, after) == role


def test_around_is_cut_at_the_text_edges():
    assert around("abcdef", 2, 4, before=5, after=1) == ("ab", "e")


CONTEXT = ProjectContext(
    payload={
        "segments": [{"id": "seg-1"}, "not an item"],
        "subtitleClips": [{"id": "sub-1"}],
        "bgmClips": [{"id": "bgm-1"}],
        "separationStems": [{"stemId": "speaker_3"}],
    }
)


@pytest.mark.parametrize(
    ("kind", "value", "exists"),
    [
        ("segment", "seg-1", True),
        ("segment", "sub-1", False),
        ("subtitle_clip", "sub-1", True),
        ("bgm_clip", "bgm-1", True),
        ("bgm_clip", "seg-1", False),
        ("stem", "speaker_3", True),
        ("stem", "background", True),  # a standard stem needs no entry in the context
        ("stem", "speaker_2", True),
        ("stem", "drums", False),
    ],
)
def test_has_id_looks_in_the_items_of_the_kind(kind, value, exists):
    assert CONTEXT.has_id(kind, value) is exists
