"""The SRT parser and writer on the shapes real subtitle files come in."""

import pytest

from apps.media.srt import Cue, SrtInvalid, srt_parse, srt_parse_bytes, srt_write, timestamp_format

CANONICAL = "1\n00:00:01,000 --> 00:00:02,500\nHello\n\n2\n00:00:03,000 --> 00:00:04,000\nTwo\nlines\n"


def test_canonical_file_round_trips_byte_for_byte():
    cues = srt_parse(CANONICAL)
    assert cues == [
        Cue(index=1, start_ms=1000, end_ms=2500, text="Hello"),
        Cue(index=2, start_ms=3000, end_ms=4000, text="Two\nlines"),
    ]
    assert srt_write(cues) == CANONICAL
    assert srt_parse(srt_write(cues)) == cues


def test_bom_crlf_and_dot_separator_are_accepted():
    raw = "\ufeff1\r\n00:00:01.000 --> 00:00:02.500\r\nHello\r\n\r\n2\r\n00:00:03.000 --> 00:00:04.000\r\nTwo\r\nlines\r\n"
    assert srt_parse_bytes(raw.encode("utf-8")) == srt_parse(CANONICAL)


def test_old_mac_line_ends_are_accepted():
    assert srt_parse(CANONICAL.replace("\n", "\r")) == srt_parse(CANONICAL)


def test_blank_line_variations():
    messy = "\n\n  \n1\n00:00:01,000 --> 00:00:02,500\nHello\n   \n\n\n\n2\n00:00:03,000 --> 00:00:04,000  \nTwo\nlines"
    assert srt_parse(messy) == srt_parse(CANONICAL)


def test_missing_blank_line_between_cues_still_splits():
    squashed = "1\n00:00:01,000 --> 00:00:02,500\nHello\n2\n00:00:03,000 --> 00:00:04,000\nTwo\nlines\n"
    assert srt_parse(squashed) == srt_parse(CANONICAL)


def test_cue_without_number_is_numbered_after_the_previous():
    cues = srt_parse("5\n00:00:01,000 --> 00:00:02,000\nA\n\n00:00:03,000 --> 00:00:04,000\nB\n")
    assert [cue.index for cue in cues] == [5, 6]


def test_text_line_with_only_digits_is_text():
    cues = srt_parse("1\n00:00:01,000 --> 00:00:02,000\n2024\n")
    assert cues[0].text == "2024"


def test_out_of_order_and_overlapping_cues_are_kept_in_file_order():
    text = "2\n00:00:05,000 --> 00:00:07,000\nlater\n\n1\n00:00:01,000 --> 00:00:06,000\nearlier, overlapping\n"
    cues = srt_parse(text)
    assert [(cue.index, cue.start_ms, cue.end_ms) for cue in cues] == [(2, 5000, 7000), (1, 1000, 6000)]
    assert srt_parse(srt_write(cues)) == cues


def test_empty_text_cue_is_kept_and_round_trips():
    cues = srt_parse("1\n00:00:01,000 --> 00:00:02,000\n\n2\n00:00:03,000 --> 00:00:04,000\nB\n")
    assert cues[0].text == "" and cues[1].text == "B"
    assert srt_parse(srt_write(cues)) == cues


def test_position_coordinates_after_timing_are_ignored():
    cues = srt_parse("1\n00:00:01,000 --> 00:00:02,000 X1:10 X2:20 Y1:5 Y2:9\nA\n")
    assert (cues[0].start_ms, cues[0].end_ms) == (1000, 2000)


def test_short_millisecond_fraction_is_a_fraction():
    assert srt_parse("1\n00:00:01,5 --> 00:00:02,25\nA\n")[0] == Cue(1, 1500, 2250, "A")


def test_hours_up_to_99_are_accepted():
    cues = srt_parse("1\n99:59:59,000 --> 99:59:59,999\nend\n")
    assert cues[0].end_ms == ((99 * 60 + 59) * 60 + 59) * 1000 + 999
    assert timestamp_format(cues[0].end_ms) == "99:59:59,999"


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("1\n100:00:00,000 --> 100:00:01,000\nA\n", "hours must be at most 99"),
        ("1\n00:61:00,000 --> 00:62:00,000\nA\n", "below 60"),
        ("1\n00:00:02,000 --> 00:00:01,000\nA\n", "ends before it starts"),
        ("1\n00:00:01,0000 --> 00:00:02,000\nA\n", "at most 3 digits"),
        ("hello world\nthis is not srt\n", "line 1"),
        ("1\n00:00:01,000 --> 00:00:02,000\nA\n\ngarbage here\n", "line 5"),
        ("", "no subtitle cues"),
        ("\n\n   \n", "no subtitle cues"),
    ],
)
def test_malformed_input_raises_a_400_domain_error(text, fragment):
    with pytest.raises(SrtInvalid) as caught:
        srt_parse(text)
    assert caught.value.status_code == 400
    assert caught.value.code == "invalid_srt"
    assert fragment in caught.value.detail


def test_non_utf8_bytes_are_rejected_cleanly():
    with pytest.raises(SrtInvalid) as caught:
        srt_parse_bytes("1\n00:00:01,000 --> 00:00:02,000\ncafé\n".encode("latin-1"))
    assert "UTF-8" in caught.value.detail


def test_writer_drops_blank_lines_inside_text_so_the_cue_survives():
    cues = [Cue(1, 0, 1000, "a\n\nb")]
    assert srt_parse(srt_write(cues)) == [Cue(1, 0, 1000, "a\nb")]
