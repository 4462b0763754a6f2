"""Unit tests of the offline interpreter's resolvers: numbers, times, ordinals and references,
languages, volume and speed scales, clause splitting, intents and answers."""

import pytest

from apps.chat.understanding import answers
from apps.chat.understanding.languages import split_languages
from apps.chat.understanding.normalize import normalize, raw_clauses
from apps.chat.understanding.numbers import english_words_value, korean_sino_value, words_to_digits
from apps.chat.understanding.planner import Project, family_of, interpret
from apps.chat.understanding.references import ordinals, pick, says_pending_range, says_this
from apps.chat.understanding.scales import speed_scale, volume_scale
from apps.chat.understanding.times import strip_times, time_facts

# --- numbers ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("words", "value"),
    [("five", 5), ("twenty five", 25), ("one hundred and ten", 110), ("a hundred", 100), ("ninety-nine", 99)],
)
def test_english_number_words(words, value):
    assert english_words_value(words) == value


@pytest.mark.parametrize(("word", "value"), [("삼십오", 35), ("십", 10), ("백", 100), ("이십", 20), ("구", 9)])
def test_sino_korean_numbers(word, value):
    assert korean_sino_value(word) == value


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("two and a half seconds", "2.5 seconds"),
        ("fifty percent", "50 percent"),
        ("세 번째 클립", "3 번째 클립"),
        ("두 배 빠르게", "2 배 빠르게"),
        ("삼십 초", "30 초"),
        ("1분 반", "1분 30초"),
        ("this one", "this item"),
        ("네 좋아요", "네 좋아요"),  # "네" is "yes" without a counter
    ],
)
def test_words_to_digits(text, expected):
    assert words_to_digits(text) == expected


# --- times ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "ranges"),
    [
        ("from 5 to 12 seconds", [(5000, 12000)]),
        ("5초부터 12초까지", [(5000, 12000)]),
        ("between 10 and 15 seconds", [(10000, 15000)]),
        ("0:25 to 0:30", [(25000, 30000)]),
        ("1분 30초부터 2분까지", [(90000, 120000)]),
        ("7초~9초", [(7000, 9000)]),
        ("seconds 3 through 6", [(3000, 6000)]),
        ("2.5s-4s", [(2500, 4000)]),
    ],
)
def test_time_ranges(text, ranges):
    assert time_facts(normalize(text)).ranges == ranges


def test_relative_times():
    assert time_facts(normalize("the last 3 seconds")).tail == 3000
    assert time_facts(normalize("마지막 3초")).tail == 3000
    assert time_facts(normalize("the first 10 secs")).head == 10000
    assert time_facts(normalize("처음 4초")).head == 4000
    assert time_facts(normalize("everything after 30 seconds")).from_ms == 30000
    assert time_facts(normalize("20초까지")).until_ms == 20000
    assert time_facts(normalize("at 12 seconds")).point == 12000
    assert time_facts(normalize("3 seconds later")).shift == 3000
    assert time_facts(normalize("2초 앞으로")).shift == -2000
    assert time_facts(normalize("trim to 20 seconds")).keep == 20000
    assert time_facts(normalize("the second half")).half == "second"


def test_times_are_stripped_before_scales_are_read():
    assert volume_scale(strip_times(normalize("volume 0.3 from 10 to 20 seconds"))) == 0.3
    assert speed_scale(strip_times(normalize("5초부터 10초까지 1.5배 빠르게"))) == 1.5


# --- references -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "index", "kind"),
    [
        ("the second clip", 2, "segment"),
        ("the 3rd clip", 3, "segment"),
        ("clip 2", 2, "segment"),
        ("세 번째 자막", 3, "subtitle"),
        ("2번 클립", 2, "segment"),
        ("마지막 클립", -1, "segment"),
        ("the last song", -1, "bgm"),
        ("second to last clip", -2, "segment"),
        ("끝에서 두 번째 영상", -2, "segment"),
        ("the middle clip", 0, "segment"),
        ("첫 번째 음악", 1, "bgm"),
    ],
)
def test_ordinals(text, index, kind):
    found = ordinals(normalize(text))
    assert [(ordinal.index, ordinal.kind) for ordinal in found] == [(index, kind)]


def test_ordinals_are_not_times():
    assert ordinals(normalize("the first 5 seconds")) == []
    assert ordinals(normalize("영상 20초로 잘라줘")) == []


def test_pick_counts_from_either_end_and_the_middle():
    items = [{"id": "a"}, {"id": "b"}, {"id": "c"}]
    assert pick(items, 1)["id"] == "a" and pick(items, -1)["id"] == "c" and pick(items, 0)["id"] == "b"
    assert pick(items, 4) is None


def test_this_and_the_dragged_range():
    assert says_this(normalize("make this clip louder")) and says_this(normalize("이 클립 복제"))
    assert says_pending_range(normalize("delete this part")) and says_pending_range(normalize("여기 선택한 구간"))
    assert not says_pending_range(normalize("delete the second clip"))


# --- languages ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "targets", "source"),
    [
        ("add English and Japanese subtitles", ["en", "ja"], None),
        ("영어랑 일본어 자막", ["en", "ja"], None),
        ("dub it from Korean to Chinese", ["zh"], "ko"),
        ("한국어 영상을 영어로 더빙", ["en"], "ko"),
        ("일본어로", ["ja"], None),
        ("caption it in japanse", ["ja"], None),
        ("subtitles: en, ja", ["en", "ja"], None),
        ("translate the Korean video into English", ["en"], "ko"),
        ("불어 자막", ["fr"], None),
    ],
)
def test_languages(text, targets, source):
    assert split_languages(normalize(text)) == (targets, source)


def test_ordinary_words_are_not_language_codes():
    assert split_languages(normalize("make it louder")) == ([], None)


# --- scales -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "current", "expected"),
    [
        ("mute it", 1.0, 0.0),
        ("set it to 30%", 1.0, 0.3),
        ("30%로 줄여줘", 1.0, 0.3),
        ("30% 줄여줘", 1.0, 0.7),
        ("lower it by 20%", 0.5, 0.4),
        ("volume 0.3", 1.0, 0.3),
        ("-6 dB", 1.0, 0.501),
        ("lower by 6 dB", 1.0, 0.501),
        ("half", 0.8, 0.4),
        ("절반으로", 1.0, 0.5),
        ("두 배로", 1.0, 2.0),
        ("louder", 1.0, 1.5),
        ("a bit quieter", 1.0, 0.75),
        ("too loud", 1.0, 0.5),
        ("unmute", 0.0, 1.0),
        ("fifty percent", 1.0, 0.5),
        ("max", 1.0, 2.0),
    ],
)
def test_volume(text, current, expected):
    assert volume_scale(normalize(text), current) == pytest.approx(expected, abs=0.002)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("twice as fast", 2.0),
        ("0.5배", 0.5),
        ("2배속", 2.0),
        ("half speed", 0.5),
        ("1.5x", 1.5),
        ("x3", 3.0),
        ("slow motion", 0.5),
        ("슬로우모션", 0.5),
        ("20% faster", 1.2),
        ("normal speed", 1.0),
        ("3 times slower", 0.333),
        ("10x", 4.0),
    ],
)
def test_speed(text, expected):
    assert speed_scale(normalize(text)) == pytest.approx(expected, abs=0.002)


def test_no_scale_when_none_is_named():
    assert volume_scale(normalize("move the music")) is None
    assert speed_scale(normalize("delete the clip")) is None


# --- clauses, intents, answers -------------------------------------------------------------------------------


def test_clauses_split_on_then_and_korean_connectives_but_not_inside_quotes_or_ranges():
    assert raw_clauses("trim the clip to 10 seconds, then add Korean subtitles") == [
        "trim the clip to 10 seconds",
        "add Korean subtitles",
    ]
    assert raw_clauses("배경음악 줄이고 10초로 옮겨줘") == ["배경음악 줄이", "10초로 옮겨줘"]
    assert raw_clauses("change it to 'this and that'") == ["change it to 'this and that'"]
    assert raw_clauses("delete between 5 and 10 seconds") == ["delete between 5 and 10 seconds"]
    assert raw_clauses("slow down 1.5 seconds. then mute") == ["slow down 1.5 seconds.", "mute"]


@pytest.mark.parametrize(
    ("text", "family"),
    [
        ("remove the second clip", "delete"),
        ("clone it", "duplicate"),
        ("make the music quieter", "volume"),
        ("remove the music", "volume_off"),
        ("speed up", "speed"),
        ("isolate the vocals", "separate"),
        ("add subtitles", "subtitles"),
        ("dub it into English", "dub"),
        ("move the song to 10 s", "bgm_place"),
        ("자막 두 번째 거 '안녕'으로 바꿔", "subtitle_text"),
        ("음성 분리해줘", "separate"),
        ("배경음악 5초부터 20초까지 깔아줘", "bgm_place"),
    ],
)
def test_intents(text, family):
    assert family_of(normalize(text), text, Project({"subtitleClips": [{"id": "s", "text": "x"}]})) == family


@pytest.mark.parametrize(
    ("text", "language", "fragment"),
    [
        ("what can you do?", "en", "subtitles"),
        ("how long does dubbing take?", "en", "minutes"),
        ("자막 언어 바꿀 수 있어?", "ko", "언어"),
        ("음성 분리 얼마나 걸려?", "ko", "1분"),
        ("add a sepia filter", "en", "can't"),
        ("영상 회전해줘", "ko", "회전"),
    ],
)
def test_answers(text, language, fragment):
    answer = answers.answer(normalize(text), language, {})
    assert answer is not None and fragment in answer.text


def test_a_request_is_not_mistaken_for_a_question():
    assert answers.answer(normalize("배경음악 줄여줄 수 있어?"), "ko", {}) is None
    assert answers.answer(normalize("can you make the music quieter"), "en", {}) is None


def test_agreement_completes_the_pending_plan_and_refusal_cancels_it():
    context = {"segments": [{"id": "s1", "startMs": 0, "endMs": 10000}], "videoDurationMs": 10000}
    asked = interpret([("user", "영어 자막 만들어줘")], context, "ko")
    assert not asked.calls and "진행할까요?" in asked.text
    turns = [("user", "영어 자막 만들어줘"), ("model", asked.text)]
    done = interpret([*turns, ("user", "좋아")], context, "ko")
    assert [call.name for call in done.calls] == ["transcribe_for_subtitles"]
    cancelled = interpret([*turns, ("user", "아니 취소")], context, "ko")
    assert not cancelled.calls and "진행하지" in cancelled.text


def test_a_missing_required_value_is_asked_for():
    reply = interpret([("user", "dub this video")], {"segments": [{"id": "s1", "startMs": 0, "endMs": 5000}]}, "ko")
    assert not reply.calls and "Which language" in reply.text


def test_a_huge_message_is_read_only_up_to_its_first_clauses():
    context = {"segments": [{"id": "s1", "startMs": 0, "endMs": 60000}], "videoDurationMs": 60000}
    reply = interpret([("user", "delete 1 to 2 seconds and " * 5000)], context, "ko")
    assert 1 <= len(reply.calls) <= 5
    assert all(call.name == "delete_segment_range" for call in reply.calls)


def test_yes_after_a_proposal_does_not_propose_it_again():
    context = {"segments": [{"id": "s1", "startMs": 0, "endMs": 10000}], "subtitleClips": [{"id": "c1", "text": "x"}]}
    turns = [
        ("user", "delete 1 to 2 seconds"),
        (
            "model",
            "Delete 1-2 s of the clip.\n\n⚠ Applying this edit resets the existing subtitles. Do you want to go ahead?",
        ),
        ("user", "yes sure thing"),
    ]
    assert interpret(turns, context, "ko").calls == []
    asked = [("user", "dub it into English"), ("model", "Dub the video into English. Shall I go ahead?")]
    assert [call.name for call in interpret([*asked, ("user", "sure thing")], context, "ko").calls] == ["generate_dub"]
