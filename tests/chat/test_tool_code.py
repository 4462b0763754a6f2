"""The tool_code fallback parser: both formats recovered, anything but literals refused, nothing run."""

import pytest

from apps.chat.tool_code import NotALiteral, parse_python_call, recover_tool_calls, yaml_scalar


def test_python_form_with_print_and_literals():
    recovered = recover_tool_calls(
        'Sure.\n```tool_code\nprint(default_api.update_segment_speed(segmentId="seg-1", speedScale=1.5, '
        "startMs=1000, endMs=-0, flag=True, none=None, langs=['en', \"ja\"]))\n```"
    )
    assert recovered.refused == []
    [call] = recovered.calls
    assert call.name == "update_segment_speed"
    assert call.args == {
        "segmentId": "seg-1",
        "speedScale": 1.5,
        "startMs": 1000,
        "endMs": 0,
        "flag": True,
        "none": None,
        "langs": ["en", "ja"],
    }
    assert recovered.rationale == "Sure."


def test_python_form_several_calls_and_bare_calls_and_json_words():
    recovered = recover_tool_calls(
        "default_api.move_bgm_clip(clipId='b(1)', newStartMs=2000)\n"
        "print(default_api.update_bgm_volume(clipId='b', volumeScale=0.5, muted=false, extra=null))"
    )
    assert [(call.name, call.args) for call in recovered.calls] == [
        ("move_bgm_clip", {"clipId": "b(1)", "newStartMs": 2000}),
        ("update_bgm_volume", {"clipId": "b", "volumeScale": 0.5, "muted": False, "extra": None}),
    ]
    assert recovered.rationale is None


@pytest.mark.parametrize(
    "snippet",
    [
        "default_api.update_bgm_volume(clipId=__import__('os').system('touch /tmp/pwned'), volumeScale=1)",
        "default_api.update_bgm_volume(clipId=os.environ, volumeScale=1)",
        "default_api.update_bgm_volume(clipId='a'.upper(), volumeScale=1)",
        "default_api.update_bgm_volume(clipId=default_api.move_bgm_clip(clipId='x'), volumeScale=1)",
        "default_api.update_bgm_volume(clipId=[x for x in range(10)], volumeScale=1)",
        "default_api.update_bgm_volume(clipId=f'{open(\"/etc/passwd\").read()}', volumeScale=1)",
        "default_api.update_bgm_volume(clipId=lambda: 1, volumeScale=1)",
        "default_api.update_bgm_volume(clipId='a', volumeScale=1 + 1)",
        "default_api.update_bgm_volume('positional')",
        "default_api.update_bgm_volume(**{'clipId': 'a'})",
        "default_api.update_bgm_volume(clipId={'a': 1})",
        "default_api.update_bgm_volume(clipId=b'bytes')",
    ],
)
def test_python_form_refuses_anything_that_is_not_a_literal(snippet, tmp_path):
    with pytest.raises(NotALiteral):
        parse_python_call(snippet)
    recovered = recover_tool_calls(f"```tool_code\nprint({snippet})\n```")
    assert recovered.calls == []
    assert len(recovered.refused) == 1


def test_hostile_call_is_never_executed(tmp_path):
    marker = tmp_path / "pwned"
    recover_tool_calls(f"print(default_api.x(a=__import__('pathlib').Path('{marker}').touch()))")
    assert not marker.exists()


def test_nested_call_refuses_outer_and_does_not_recover_inner():
    recovered = recover_tool_calls("default_api.a(x=default_api.b(y=1))")
    assert recovered.calls == []
    assert len(recovered.refused) == 1


def test_unbalanced_call_is_refused_not_guessed():
    recovered = recover_tool_calls("print(default_api.update_bgm_volume(clipId='a)', volumeScale=0.5")
    assert recovered.calls == []
    assert recovered.refused


def test_missing_print_paren_still_recovers_the_balanced_call():
    recovered = recover_tool_calls("print(default_api.update_bgm_volume(clipId='a', volumeScale=0.5)")
    assert [call.name for call in recovered.calls] == ["update_bgm_volume"]


def test_deeply_nested_input_is_refused_without_crashing():
    recovered = recover_tool_calls("default_api.a(x=" + "[" * 5000 + "]" * 5000 + ")")
    assert recovered.calls == []


def test_yaml_form_with_separate_rationale():
    recovered = recover_tool_calls(
        '```yaml\nkind: proposal\nrationale: "Lower the music, then move it."\nsteps:\n'
        '  - tool: default_api.update_bgm_volume\n    args:\n      clipId: "bgm-1"\n      volumeScale: 0.3\n'
        "  - tool: move_bgm_clip\n    args:\n      clipId: bgm-1\n      newStartMs: 2000\n"
        "  - tool: transcribe_for_subtitles\n    args: {sourceLanguageCode: auto, targetLanguageCodes: [en, 'ja']}\n```"
    )
    assert recovered.rationale == "Lower the music, then move it."
    assert [(call.name, call.args) for call in recovered.calls] == [
        ("update_bgm_volume", {"clipId": "bgm-1", "volumeScale": 0.3}),
        ("move_bgm_clip", {"clipId": "bgm-1", "newStartMs": 2000}),
        ("transcribe_for_subtitles", {"sourceLanguageCode": "auto", "targetLanguageCodes": ["en", "ja"]}),
    ]


def test_yaml_form_rationale_after_steps_and_block_rationale():
    recovered = recover_tool_calls(
        "- tool: update_bgm_volume\n  args:\n    clipId: b\n    volumeScale: 1\nrationale: |\n  Two\n  lines"
    )
    assert recovered.rationale == "Two\nlines"
    assert recovered.calls[0].args == {"clipId": "b", "volumeScale": 1}


def test_plain_text_recovers_nothing():
    recovered = recover_tool_calls("Which part of the video do you mean? The tool can do a lot.")
    assert recovered.calls == [] and recovered.refused == []


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ('"a \\"b\\""', 'a "b"'),
        ("'it''s'", "it's"),
        ('[en, "ja", 3]', ["en", "ja", 3]),
        ("TRUE", True),
        ("~", None),
        ("null", None),
        ("-12", -12),
        ("0.25", 0.25),
        ("seg-1", "seg-1"),
        ("__import__('os')", "__import__('os')"),
    ],
)
def test_yaml_scalars(raw, value):
    assert yaml_scalar(raw) == value
