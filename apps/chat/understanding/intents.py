"""Which tool a clause asks for, from synonyms in English and Korean.

Objects first (subtitles, dubbing, separation, music, voice/stems, volume, speed), then the verb
(move, fit, duplicate, delete); a clause with a sound object and a removal verb ("remove the music",
"목소리 없애줘") is a volume change to zero, since the tools cannot delete audio tracks.
"""

import re

SUBTITLE = re.compile(r"subtitl|caption|\bsubs?\b|\bcc\b|자막|캡션")
LYRICS = re.compile(r"lyric|가사")
SCRIPT = re.compile(r"script|transcript|대본|스크립트|원고|받아쓴|받아쓰기|\bsrt\b")
APPLY = re.compile(
    r"\bapply|looks?\s+(?:good|fine|ok|great)|\bapproved?|\breviewed|\bconfirm|\bgo\s+with\b|\buse\s+(?:it|this|the)|\bfinali[sz]e|"
    r"\bdone\b|all\s+good|적용|반영|확정|확인\s*(?:했|완료|끝)|검토\s*(?:했|완료|끝)|괜찮|좋아|이대로|그대로|완료|다\s*봤|수정\s*(?:했|완료)"
)
SKIP_REVIEW = re.compile(
    r"(?:skip|skipping|without|no\s+need\s+(?:for|to)|don'?t\s+need(?:\s+to)?|do\s+not\s+need(?:\s+to)?|no)\s+(?:the\s+|a\s+|any\s+)?"
    r"(?:script\s+|transcript\s+)?(?:review|check|proofread)|"
    r"(?:don'?t|do\s+not|no\s+need\s+to|won'?t)\s+(?:need\s+to\s+)?(?:check|review|proofread|see|read)\s+(?:the\s+)?(?:script|transcript)|"
    r"without\s+(?:reviewing|checking|proofreading)|skip\s+(?:the\s+)?(?:script|transcript)|(?:one|1)[\s-]+step|in\s+(?:one|1)\s+go|"
    r"straight\s+to\s+(?:the\s+)?subtitles|\bno\s+(?:review|proofreading)|"
    r"(?:검토|검수|대본\s*확인|확인|리뷰|스크립트\s*확인|대본|스크립트)\s*(?:단계\s*)?(?:는\s*|도\s*)?"
    r"(?:없이|안\s*(?:하고|해도|할래|해)?|생략|건너|스킵|필요\s*없|패스)|(?:한|1)\s*번에|바로\s*자막\s*(?:까지|입혀|넣어)"
)
DUB = re.compile(
    r"\bdub|\bhear\s+(?:it|this|them)\s+in\b|voice[\s-]*over|re-?voice|더빙|보이스\s*오버|음성\s*번역|목소리\s*(?:를\s*)?(?:\S+어|\S+말)로"
)
SEPARATE = re.compile(
    r"separat|\bsplit\s+(?:the\s+)?(?:audio|sound|voices?|vocals?|stems?|tracks?)|isolat|extract\s+(?:the\s+)?(?:voice|vocal|speech|dialog)|"
    r"\bpull\s+(?:the\s+)?(?:voices?|vocals?|dialog\w*|speech)\s+out|(?:voices?|vocals?|dialog\w*|speech)\s+out\s+of|"
    r"\bstems?\b(?!\s+volume)|vocal\s+remov|분리|추출|나눠\s*줘|보컬\s*(?:만|제거)|목소리\s*만\s*(?:뽑|따|남)|음원\s*분리"
)
MUSIC = re.compile(r"music|\bsongs?\b|\bbgm\b|\btracks?\b|\btunes?\b|배경\s*음악|음악|노래|브금|bgm|\b곡\b|음원")
VOICE = re.compile(
    r"\bvoices?\b|vocals?|speech|dialog(?:ue)?|narration|talking|목소리|음성|보컬|대사\s*소리|말소리|내레이션|나레이션|목소리"
)
SPEAKER = re.compile(
    r"speaker\s*\d|\d+(?:st|nd|rd|th)?\s+speaker|(?:first|second|third|fourth)\s+(?:speaker|person)|person\s*\d|화자\s*\d|\d\s*번\s*화자|\d\s*번째\s*(?:화자|사람|목소리)|\d\s*번\s*(?:사람|목소리)|화자"
)
BACKGROUND = re.compile(
    r"background(?!\s+music)|ambien|\bnoise|\bbackground\s+sound|배경\s*(?:음(?!악)|소리|소음)|배경음(?!악)|잡음|소음|주변\s*소리|반주|instrumental|\bbeat"
)
VOLUME = re.compile(
    r"volume|loud|quiet|\bmute|silen|\bsound|audio\s+level|\blevel|\bdb\b|decibel|soft|\bunmute|hear|audible|\bgain|"
    r"볼륨|소리|음량|음소거|조용|시끄|크게|작게|키워|키우|줄여|줄이|높여|낮춰|데시벨|들리|무음|꺼\s*줘|꺼줘|올려|내려"
)
VOLUME_DIRECT = re.compile(r"\bmute|\bunmute|louder|quieter|softer|음소거|무음|\bsilence")
SPEED = re.compile(
    r"speed|fast|slow|\d+(?:\.\d+)?\s*x(?![a-z])|(?<![a-z])x\s*\d|\bpace|time[\s-]*lapse|quicker|속도|배속|빠르|빨리|느리|느려|천천히|슬로|타임\s*랩스|빨라|\d\s*배\s*(?:로|속)?(?!\s*(?:크게|작게|키|줄|볼륨|소리))"
)
MOVE = re.compile(
    r"\bmove|\bshift|\bstarts?\b|\bbegins?\b|\bstart(?:s|ing)?\s+(?:at|from|it|the|playing)|\bbegin|\bplace|\bput|\bdrag|\bslide|\bpush|\bpull|\blater\b|\bearlier\b|\bkick\s+in|\bcome\s+in|\bplay(?:ing)?\s+(?:at|from)|\bdelay|"
    r"옮겨|옮기|이동|시작|배치|놓아|놔|밀어|당겨|늦춰|늦게|앞당|뒤로|앞으로|나오게|나오도록|깔리|들어가게|위치"
)
FIT = re.compile(
    r"\bfit\b|\bfitting|\bspan\b|\bspans\b|\bspanning|\bstretch|\bcover|\bmatch|\bfill|\bthrough(?:out)?|맞춰|맞게|맞추|채워|깔아|늘려|꽉|동안|걸치"
)
DUPLICATE = re.compile(
    r"duplicat|\bcopy|\bclone|\brepeat|\bloop|\bdouble\s+(?:up|it|the\s+(?:clip|part|segment))|(?:one|1)\s+more\s+time|"
    r"\bagain\b|\btwice\s+in\s+a\s+row|복제|복사|반복|(?:한|1)\s*번\s*더|(?:두|2)\s*번\s*(?:나오|재생|보이|틀)|다시\s*(?:한|1)\s*번"
)
DELETE = re.compile(
    r"delet|remov|\bcut\b|\bcut\s|\btrim|\bdrop|\berase|\bget\s+rid|\bchop|\bshorten|\bexclude|\btake\s+out|\bstrip|\bdump|\bditch|\blose\s+the|\bkill|"
    r"삭제|지워|지우|지운|잘라|자르|잘러|없애|없앨|제거|빼\s*줘|빼고|빼|날려|날리|컷|줄여|짧게|쳐내|들어내|버려|치워"
)
TRANSLATE = re.compile(r"translat|번역")
AUDIO = re.compile(r"\baudio\b|\bsound\b|오디오|원본\s*소리|원음|원래\s*소리")


def wants_subtitles(text: str) -> bool:
    return bool(SUBTITLE.search(text) or (LYRICS.search(text) and not DUB.search(text)))
