"""Which tool a clause asks for, from synonyms in English and Korean (the patterns in intents.toml).

Objects first (subtitles, dubbing, separation, music, voice/stems, volume, speed), then the verb
(move, fit, duplicate, delete); a clause with a sound object and a removal verb ("remove the music",
"목소리 없애줘") is a volume change to zero, since the tools cannot delete audio tracks.
"""

from apps.chat.understanding.vocabulary import load_patterns

WORDS = load_patterns("intents.toml")


def wants_subtitles(text: str) -> bool:
    return bool(WORDS["subtitle"].search(text) or (WORDS["lyrics"].search(text) and not WORDS["dub"].search(text)))
