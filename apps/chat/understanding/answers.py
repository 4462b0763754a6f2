"""Text answers: questions about what the assistant can do and how long things take, chit-chat, and
requests no tool can do ("can't do that; the nearest thing is …"), in the user's language."""

import re
from dataclasses import dataclass

from apps.chat.understanding import intents


@dataclass(frozen=True)
class Answer:
    text: str
    definite: bool  # True: answer even when an edit word appears (a question, a fade, an export)


_TEXTS = {
    "greeting": (
        'Hi! I\'m the editing assistant. Tell me what to change — e.g. "delete 5 to 12 seconds", '
        '"make the music 30%", "add English subtitles".',
        '안녕하세요! 편집 도우미예요. 예를 들어 "5초부터 12초까지 삭제", "배경음악 30%로", "영어 자막 만들어줘"처럼 말씀해 주세요.',
    ),
    "thanks": ("You're welcome! Anything else to change?", "천만에요! 더 바꿀 게 있으면 말씀해 주세요."),
    "how_are_you": (
        "I'm doing well, thanks! Ready to edit — what should we change in the video?",
        "잘 지내요, 고마워요! 영상에서 어떤 걸 바꿔 볼까요?",
    ),
    "capabilities": (
        "I can: delete or duplicate parts of a clip; change a clip's volume or speed (0.25x-4x); separate voices "
        "and background (about 1 min per minute of audio) and set each stem's volume; make subtitles in one or "
        "more languages (transcribe first for review, a few minutes) and edit a subtitle's text; dub the video "
        "into another language (a few minutes); move, fit, turn up/down, subtitle or dub the background music. "
        "Say it in plain words, several steps at once if you like.",
        "이런 걸 할 수 있어요: 클립 일부 삭제·복제, 클립 볼륨·속도(0.25~4배) 변경, 목소리/배경음 분리(오디오 1분당 약 1분)와 "
        "분리된 트랙별 볼륨 조절, 여러 언어 자막 만들기(먼저 받아쓰기 후 대본 확인, 수 분)와 자막 문구 수정, 다른 언어로 더빙(수 분), "
        "배경음악 이동·구간 맞추기·볼륨·자막·더빙. 평소 말투로, 여러 단계를 한 번에 말씀하셔도 돼요.",
    ),
    "subtitles": (
        "Yes. I first transcribe the audio so you can review the script (a few minutes), then place subtitles in "
        "the languages you pick — several at once, e.g. English and Japanese (a few minutes per language). "
        'To change or add a language just say e.g. "make Japanese subtitles"; to skip the review, say so. '
        "I can also change the text of a single subtitle.",
        "네. 먼저 음성을 받아써서 대본을 확인하실 수 있게 하고(수 분), 원하는 언어로 자막을 입혀요. 여러 언어도 한 번에 돼요 "
        '(예: 영어와 일본어, 언어당 수 분). 언어를 바꾸거나 추가하려면 "일본어 자막 만들어줘"처럼 말씀하세요. 검토를 건너뛰고 싶으면 '
        "그렇게 말씀해 주세요. 자막 한 줄의 문구 수정도 돼요.",
    ),
    "dub": (
        "Dubbing makes a new voice track in one target language per request; it takes a few minutes (longer for "
        'long videos). Say e.g. "dub it into English". Edits that change the length afterwards can put it out of sync.',
        '더빙은 요청 한 번에 한 언어로 새 음성을 만들어요. 수 분 정도 걸리고 영상이 길면 더 걸려요. "영어로 더빙해줘"처럼 말씀하세요. '
        "더빙 후 길이를 바꾸는 편집을 하면 싱크가 어긋날 수 있어요.",
    ),
    "separate": (
        "Audio separation splits a range into voices (per speaker) and background; it takes about one minute per "
        'minute of audio. Afterwards you can set each stem\'s volume, e.g. "background 30%". Ranges may not overlap '
        "an existing separation.",
        '음성 분리는 구간의 소리를 화자별 목소리와 배경음으로 나눠요. 오디오 1분당 약 1분 걸려요. 분리 후에는 "배경음 30%"처럼 '
        "트랙별 볼륨을 바꿀 수 있어요. 이미 분리한 구간과 겹치게는 분리할 수 없어요.",
    ),
    "volume": (
        "I can set the volume of a clip (or a range of it), the background music or a separated stem, from 0% "
        '(mute) to 200% — as a percent, 0-1, dB, or words like "a bit quieter".',
        '클립(또는 그 일부 구간), 배경음악, 분리된 트랙의 볼륨을 0%(음소거)부터 200%까지 바꿀 수 있어요. 퍼센트, 0~1, dB, "조금 작게" '
        "같은 말로 하시면 돼요.",
    ),
    "speed": (
        'I can change the speed of a clip or a range of it from 0.25x to 4x, e.g. "make the second clip twice as fast". '
        "It shifts what follows, so subtitles/dubs made earlier may need redoing.",
        '클립이나 구간의 속도를 0.25배부터 4배까지 바꿀 수 있어요. 예: "두 번째 클립 2배속". 뒤쪽 타이밍이 밀리니 이미 만든 자막/더빙은 '
        "다시 만들어야 할 수 있어요.",
    ),
    "cut": (
        'I can delete or duplicate any range of a video clip, e.g. "delete 5 to 12 seconds" or "duplicate the last '
        '3 seconds". These shift everything after them.',
        '영상 클립의 원하는 구간을 삭제하거나 복제할 수 있어요. 예: "5초부터 12초까지 삭제", "마지막 3초 복제". 뒤쪽 타이밍이 밀려요.',
    ),
    "bgm": (
        'For background music I can move it ("start the music at 10 s"), fit it to a range ("fit the music to 5-20 s"), '
        "change its volume, and make subtitles or a dub of it. I can't add a new song — place it in the editor first.",
        '배경음악은 옮기기("음악 10초부터"), 구간에 맞추기("5~20초에 맞춰"), 볼륨, 가사 자막, 더빙을 할 수 있어요. 새 음악 추가는 '
        "편집기에서 먼저 넣어 주세요.",
    ),
    "times": (
        "Rough times: transcription, translation and dubbing take a few minutes each (translation per language); "
        "audio separation about one minute per minute of audio. Edits like delete, speed or volume apply instantly.",
        "대략 이래요: 받아쓰기·번역·더빙은 각각 수 분(번역은 언어당), 음성 분리는 오디오 1분당 약 1분이에요. 삭제·속도·볼륨 같은 편집은 바로 적용돼요.",
    ),
    "languages": (
        "Subtitles and dubs work in the common languages, e.g. English, Korean, Japanese, Chinese, Spanish, French, "
        "German, Italian, Portuguese, Russian, Vietnamese, Thai, Indonesian — several subtitle languages at once.",
        "자막과 더빙은 주요 언어로 돼요. 예: 영어, 한국어, 일본어, 중국어, 스페인어, 프랑스어, 독일어, 이탈리아어, 포르투갈어, 러시아어, "
        "베트남어, 태국어, 인도네시아어. 자막은 여러 언어를 한 번에 만들 수 있어요.",
    ),
    "cost": (
        "Edits like cutting, speed and volume are free and instant. Subtitles, dubbing and separation run on the "
        "server and use your plan's processing time; I always ask before starting them.",
        "자르기·속도·볼륨 같은 편집은 바로 적용되고 따로 처리 시간이 들지 않아요. 자막·더빙·음성 분리는 서버에서 처리되어 요금제의 처리 "
        "시간을 써요. 시작 전에 항상 여쭤볼게요.",
    ),
    "sync": (
        "Subtitles and dubs are timed to the video as it was when they were made. Deleting, duplicating or "
        "changing the speed of a range afterwards shifts everything after it, so they drift; make them again "
        "after such edits (I warn before proposing one).",
        "자막과 더빙은 만들 때의 영상 타이밍에 맞춰져 있어요. 그 뒤에 구간 삭제·복제·속도 변경을 하면 뒤쪽이 밀려서 어긋나요. "
        "그런 편집 뒤에는 다시 만들어 주세요 (그런 편집을 제안할 때 미리 알려 드려요).",
    ),
    "steps": (
        'Up to 5 steps in one request, applied in order — e.g. "trim the clip to 20 s, then add Korean subtitles".',
        '한 번에 최대 5단계까지 순서대로 적용해요. 예: "영상 20초로 자르고 한국어 자막 만들어줘".',
    ),
    "chitchat": (
        "I'm the editing assistant for this video, so I can't help with that — but I can cut, speed up, change "
        "volumes, separate voices, make subtitles or dub. What should we change?",
        "저는 이 영상의 편집 도우미라서 그건 도와드리기 어려워요. 대신 자르기, 속도, 볼륨, 음성 분리, 자막, 더빙은 할 수 있어요. "
        "어떤 걸 바꿔 볼까요?",
    ),
    "praise": ("Glad you like it! Anything else to change?", "마음에 드신다니 다행이에요! 더 바꿀 게 있을까요?"),
    "undo": (
        "Use the editor's undo button to go back; I can also make the opposite edit (e.g. set the volume back to 100%).",
        "편집기의 실행 취소 버튼으로 되돌릴 수 있어요. 반대 편집(예: 볼륨 다시 100%)을 제가 제안할 수도 있어요.",
    ),
}

_OUT_OF_SCOPE = [
    (
        re.compile(
            r"filter|colou?r\s*(?:grad|correct)?|black\s+and\s+white|b&w|brightness|contrast|saturation|\blut\b|sepia|필터|색감|보정|흑백|밝기|채도|대비|색상"
        ),
        "I can't change the picture (filters, colours, brightness). The nearest I can do is the sound, speed, cuts, subtitles and dubbing.",
        "화면 색감·필터·밝기는 바꿀 수 없어요. 대신 소리, 속도, 자르기, 자막, 더빙은 도와드릴 수 있어요.",
    ),
    (
        re.compile(
            r"transition|fade[\s-]*(?:in|out)?|crossfade|dissolve|effect|\bfx\b|트랜지션|전환\s*효과|페이드|효과|이펙트"
        ),
        "I can't add transitions, fades or effects. The nearest thing: I can lower the volume of a range (e.g. the last 3 seconds) or cut/duplicate parts.",
        "전환·페이드·효과는 넣을 수 없어요. 가장 가까운 건 특정 구간(예: 마지막 3초) 볼륨을 낮추거나 구간을 자르고 복제하는 거예요.",
    ),
    (
        re.compile(
            r"sticker|emoji|\btitle\s+card|text\s+overlay|add\s+(?:a\s+)?(?:text|title)|font|글꼴|폰트|스티커|이모지|제목\s*(?:넣|추가)|텍스트\s*(?:넣|추가)|자막\s*(?:글꼴|폰트|색|크기|위치)|subtitle\s+(?:font|colou?r|size|position)"
        ),
        "I can't add text overlays or change fonts/styles. The nearest thing: I can make subtitles or change a subtitle's text.",
        "텍스트 오버레이나 글꼴·스타일은 바꿀 수 없어요. 대신 자막을 만들거나 자막 문구를 바꿔 드릴 수 있어요.",
    ),
    (
        re.compile(
            r"\bcrop|rotat|resiz|aspect\s+ratio|zoom|stabili[sz]|flip|mirror|resolution|\b4k\b|1080p|크롭|회전|화면\s*비율|확대|축소|손떨림|뒤집|해상도|세로\s*영상|가로\s*영상"
        ),
        "I can't crop, rotate, zoom or change the resolution. The nearest thing: I can cut or duplicate parts of a clip and change its speed or sound.",
        "자르기(크롭)·회전·확대·해상도 변경은 할 수 없어요. 대신 클립 구간 삭제·복제, 속도·소리 변경은 할 수 있어요.",
    ),
    (
        re.compile(
            r"export|render|save\s+(?:the\s+)?video|download|upload|share|post\s+(?:it|to)|youtube|instagram|tiktok|내보내|저장|다운로드|업로드|공유|올려\s*줘\s*(?:유튜브|인스타)|유튜브|인스타|틱톡|출력"
        ),
        "I can't export or upload; use the editor's Export button when you're done. I can still make edits before that.",
        "내보내기·업로드는 제가 할 수 없어요. 편집이 끝나면 편집기의 내보내기 버튼을 눌러 주세요. 그 전에 필요한 편집은 도와드릴게요.",
    ),
    (
        re.compile(
            r"(?:add|insert|find|pick|choose|recommend|suggest|generate|compose)\s+(?:a\s+|some\s+|new\s+|another\s+)*(?:music|song|bgm|track|clip|photo|image|video|sound\s+effect)|^(?!.*(?:자막|더빙|가사|subtitl|caption|dub)).*(?:음악|노래|브금|배경음악|영상|사진|효과음)\s*(?:을|를)?\s*(?:\S+\s+){0,2}(?:추가|넣어|찾아|골라|추천|만들어|생성)|새\s*(?:음악|노래|영상|클립)"
        ),
        "I can't add new music or media. The nearest thing: for music already placed I can move it, fit it to a range or change its volume.",
        "새 음악이나 미디어를 추가할 수는 없어요. 이미 넣은 음악은 옮기기, 구간 맞추기, 볼륨 조절을 해 드릴 수 있어요.",
    ),
    (
        re.compile(r"thumbnail|cover\s+(?:image|photo)|썸네일|표지"),
        "I can't make thumbnails. The nearest thing: I can cut, speed up or subtitle the part you'd want people to see first.",
        "썸네일은 만들 수 없어요. 대신 보여 주고 싶은 부분을 자르거나 속도를 바꾸거나 자막을 넣을 수 있어요.",
    ),
    (
        re.compile(r"revers|backwards|rewind|거꾸로|역재생|되감"),
        "I can't play a clip backwards. The nearest thing: speed changes from 0.25x to 4x, or duplicating a part.",
        "역재생은 할 수 없어요. 대신 0.25~4배 속도 변경이나 구간 복제는 할 수 있어요.",
    ),
    (
        re.compile(
            r"pitch|auto[\s-]*tune|voice\s+(?:changer|effect|filter)|robot\s+voice|female\s+voice|male\s+voice|목소리\s*변조|음성\s*변조|피치|음정|여자\s*목소리로|남자\s*목소리로"
        ),
        "I can't change the pitch or character of a voice. The nearest thing: dubbing into a language, or changing the voice's volume after separation.",
        "목소리 음정·변조는 할 수 없어요. 대신 다른 언어로 더빙하거나, 음성 분리 후 목소리 볼륨을 바꿀 수 있어요.",
    ),
    (
        re.compile(
            r"split\s+(?:the\s+)?(?:clip|video|segment)\s+(?:at|in)|\bmerge|\bjoin\s+(?:the\s+)?clips|reorder|swap\s+(?:the\s+)?clips|분할|합쳐|병합|순서\s*(?:를\s*)?바꿔|순서\s*변경|자리\s*(?:를\s*)?바꿔"
        ),
        "I can't split, merge or reorder clips. The nearest thing: deleting or duplicating a range of a clip.",
        "클립 분할·합치기·순서 변경은 할 수 없어요. 대신 구간 삭제나 복제는 할 수 있어요.",
    ),
    (
        re.compile(r"lip[\s-]*sync|립싱크|입\s*모양"),
        "Lip-sync isn't available here. The nearest thing: dubbing the video into another language.",
        "립싱크는 지원하지 않아요. 대신 다른 언어로 더빙은 할 수 있어요.",
    ),
]

_CHITCHAT = [
    (
        "greeting",
        re.compile(
            r"^(?:(?:hi|hello|hey|yo|hiya|howdy|good\s+(?:morning|afternoon|evening))\b|안녕|하이|헬로|반가워|반갑|ㅎㅇ)"
        ),
    ),
    ("thanks", re.compile(r"\bthank|\bthx\b|\bthanks\b|cheers|고마워|고맙|감사|땡큐|ㄱㅅ")),
    (
        "praise",
        re.compile(
            r"^(?:nice|cool|great|awesome|perfect|love\s+it|lol|haha|wow|good\s+job)\b|^(?:좋네|멋지|멋있|굿|최고|ㅋㅋ|ㅎㅎ|대박|오+$)"
        ),
    ),
    ("how_are_you", re.compile(r"how\s+are\s+you|how'?s\s+it\s+going|잘\s*지내|기분\s*어때|뭐\s*해\??$")),
]
# Questions about the assistant and the answers they get, the first that fits winning; True: only
# when the request is a question ("is it free?" but not "free up the sound").
_QUESTIONS = (
    (
        re.compile(r"joke|weather|who\s+made\s+you|your\s+name|날씨|농담|심심|누가\s*만들|이름이\s*뭐|^\?+$|^[!?.~]+$"),
        "chitchat",
        False,
    ),
    (
        re.compile(
            r"which\s+languages|what\s+languages|languages\s+(?:do\s+you|are)\s+support|어떤\s*언어|무슨\s*언어|몇\s*개\s*(?:국어|언어)|지원\s*(?:하는\s*)?언어|언어\s*(?:뭐뭐|뭐가)"
        ),
        "languages",
        False,
    ),
    (
        re.compile(
            r"how\s+long|how\s+much\s+time|how\s+many\s+minutes|take\s+(?:long|a\s+while)|how\s+fast|when\s+will|얼마나\s*걸|시간\s*이?\s*얼마|몇\s*분\s*(?:이나|정도)?\s*걸|오래\s*걸|언제\s*(?:끝|돼|나와)|금방"
        ),
        "times",
        False,
    ),
    (
        re.compile(
            r"how\s+much\s+(?:does|is|will)|cost|price|\bfree\b|charge|비용|요금|얼마(?:야|예요|에요|인가요)|유료|무료|돈"
        ),
        "cost",
        True,
    ),
    (re.compile(r"\bundo\b|revert|go\s+back|되돌|실행\s*취소|원래대로\s*돌"), "undo", True),
    (
        re.compile(
            r"what\s+(?:can|do|else\s+can)\s+you\s+do|what\s+are\s+you|who\s+are\s+you|\bhelp\b|how\s+(?:do|can)\s+i\s+use\s+you|"
            r"what\s+(?:are\s+)?(?:your\s+)?(?:features|capabilities)|what\s+can\s+i\s+(?:ask|do)|"
            r"뭐\s*(?:를|을)?\s*할\s*수\s*있|뭘\s*할\s*수\s*있|무엇을\s*할\s*수|뭐\s*해\s*줄\s*수|뭘\s*도와|무슨\s*기능|어떤\s*기능|기능이\s*뭐|도움말|"
            r"할\s*수\s*있는\s*(?:게|것|일)|넌\s*누구|누구야|뭐\s*하는\s*(?:애|거|봇)|사용법|어떻게\s*써|도와\s*줄\s*수\s*있|can\s+you\s+help"
        ),
        "capabilities",
        False,
    ),
    (re.compile(r"out\s+of\s+sync|sync|싱크|어긋|안\s*맞"), "sync", True),
    (
        re.compile(
            r"how\s+many\s+(?:steps|edits|things|changes)|at\s+once|한\s*번에\s*(?:몇|여러)|몇\s*(?:개|단계)\s*(?:까지|를)?\s*(?:한\s*번에|동시에)"
        ),
        "steps",
        True,
    ),
)
_QUESTION_WORD_KO = re.compile(r"뭐|뭘|무엇|몇|얼마|어떻게|왜|언제|어디|누구|어느|어때|무슨")
_QUESTION_EN = re.compile(
    r"^(?:can\s+i|could\s+i|is\s+it\s+possible|is\s+there|are\s+there|do\s+you\s+support|does\s+(?:it|this|the)|can\s+it|are\s+you\s+able|"
    r"how\s+(?:do|can|does|to|would|long|much|many|is|are)|what(?:'s|\s+is|\s+are|\s+does|\s+happens|\s+languages)?|why|when|which|where|who|"
    r"will\s+(?:it|the|this)|do\s+i|should\s+i|(?:is|are|was|does|did|would)\s+(?:it|this|that|the|my|there|separation|dubbing|subtitl\w*))\b"
)
_QUESTION_KO = re.compile(
    r"(?<!줄\s)(?<!줄)(?<!주실\s)(?<!주실)(?:할|바꿀|만들|넣을|뺄|지울|될|쓸|고칠|나눌|줄일|키울|늘릴|옮길|조절할|입힐)\s*수\s*(?:있어|있나요|있어요|있니|있을까|있는지|있습니까)\??\s*$|"
    r"(?:가능해|가능한가요|가능할까요|가능하니|가능해요|돼|되나요|되니|되는지|될까요|돼요)\??\s*$|어떻게\s*(?:해|하나요|하면|돼|되나요|해요)|왜\s|언제\s"
)


def _topic(text: str) -> str | None:
    if intents.WORDS["dub"].search(text):
        return "dub"
    if intents.wants_subtitles(text) or intents.WORDS["translate"].search(text):
        return "subtitles"
    if intents.WORDS["separate"].search(text):
        return "separate"
    if re.search(r"speed|fast|slow|속도|배속|빠르|느리", text):
        return "speed"
    if intents.WORDS["music"].search(text):
        return "bgm"
    if re.search(r"volume|loud|quiet|mute|볼륨|소리|음량|음소거", text):
        return "volume"
    if intents.WORDS["duplicate"].search(text) or intents.WORDS["delete"].search(text):
        return "cut"
    return None


def _pick(key: str, language: str) -> str:
    english, korean = _TEXTS[key]
    return korean if language == "ko" else english


def is_question(text: str) -> bool:
    stripped = text.strip()
    if _QUESTION_EN.search(stripped) or _QUESTION_KO.search(stripped):
        return True
    # a Korean question: an interrogative word and a question mark, with no request ending ("줘", "주세요")
    return (
        stripped.endswith("?")
        and bool(_QUESTION_WORD_KO.search(stripped))
        and not re.search(r"줘|주세요|줄래|주실", stripped)
    )


def _seconds(ms) -> str:
    return f"{(ms or 0) / 1000:g}"


def state_answer(text: str, language: str, context: dict) -> str | None:
    """Questions about the project itself, answered from the context the phone sent."""
    ko = language == "ko"
    segments = [item for item in context.get("segments") or [] if isinstance(item, dict)]
    music = [item for item in context.get("bgmClips") or [] if isinstance(item, dict)]
    subtitles = [item for item in context.get("subtitleClips") or [] if isinstance(item, dict)]
    duration = context.get("videoDurationMs") or max((item.get("endMs") or 0 for item in segments), default=0)
    if re.search(
        r"how\s+long\s+is\s+(?:my|the|this)\s+(?:video|clip|project|movie)|\blength\b|\bduration\b|길이|몇\s*초\s*(?:야|짜리|예요)|몇\s*분\s*짜리",
        text,
    ):
        return (
            f"영상 길이는 {_seconds(duration)}초예요 (클립 {len(segments)}개)."
            if ko
            else f"The video is {_seconds(duration)} s long ({len(segments)} clip(s))."
        )
    if re.search(r"volume|loud|볼륨|음량|소리", text) and intents.WORDS["music"].search(text):
        if not music:
            return "배경음악이 아직 없어요." if ko else "There is no background music in the project yet."
        levels = ", ".join(
            f"{(item['volumeScale'] if item.get('volumeScale') is not None else 1) * 100:g}%" for item in music
        )
        return f"배경음악 볼륨: {levels}." if ko else f"Music volume: {levels}."
    if re.search(r"how\s+many\s+(?:clips|segments)|클립\s*(?:이|은)?\s*몇", text):
        return f"클립이 {len(segments)}개 있어요." if ko else f"There are {len(segments)} clip(s)."
    if re.search(r"how\s+many\s+subtitles|자막\s*(?:이|은)?\s*몇", text):
        codes = sorted({item["languageCode"] for item in subtitles if item.get("languageCode")})
        return (
            f"자막이 {len(subtitles)}개 있어요 ({', '.join(codes) or '-'})."
            if ko
            else f"There are {len(subtitles)} subtitle(s) ({', '.join(codes) or '-'})."
        )
    return None


def answer(text: str, language: str, context: dict) -> Answer | None:
    """A text answer when the request is a question, chit-chat or out of scope; else None."""
    for pattern, english, korean in _OUT_OF_SCOPE:
        if pattern.search(text):
            return Answer(korean if language == "ko" else english, True)
    question = is_question(text) or text.rstrip().endswith("?")
    if question:
        state = state_answer(text, language, context or {})
        if state:
            return Answer(state, True)
    for pattern, key, question_only in _QUESTIONS:
        if pattern.search(text) and (question or not question_only):
            if key == "times":  # how long one kind of job takes, else the rough times of all
                topic = _topic(text)
                key = topic if topic in ("dub", "subtitles", "separate") else "times"
            return Answer(_pick(key, language), True)
    if is_question(text):
        topic = _topic(text)
        return Answer(_pick(topic or "capabilities", language), True)
    for key, pattern in _CHITCHAT:
        if pattern.search(text):
            return Answer(_pick(key, language), len(text) < 30)
    return None


def fallback(text: str, language: str) -> str:
    """No edit was understood: say so and show what can be asked (never a bare "what do you want?")."""
    if language == "ko":
        return (
            '요청을 편집으로 이해하지 못했어요. 이런 식으로 말씀해 주세요: "두 번째 클립 5초부터 12초까지 삭제", '
            '"배경음악 30%로", "목소리 크게", "0.5배속으로", "영어랑 일본어 자막 만들어줘", "영어로 더빙해줘".'
        )
    return (
        'I couldn\'t turn that into an edit. Try for example: "delete 5 to 12 seconds of the second clip", '
        '"music to 30%", "make the voice louder", "half speed", "add English and Japanese subtitles", '
        '"dub it into English".'
    )
