"""Every error code the Perso simulator answers with, split by where it comes from.

DOCUMENTED codes appear in the error tables of the Perso API documentation (restated in
docs/perso.md). INVENTED codes are the simulator's own: the documentation names the situation (or
only the HTTP status) but not a code. The client must never depend on an invented code; it reads the
HTTP status and the documented codes, and treats anything else as an unknown error of that status.
"""

DOCUMENTED_CODES = {
    "F4001": (401, "Unauthorized"),
    "F4003": (400, "Missing required parameter"),
    "F4004": (400, "File size limit exceeded"),
    "F4005": (403, "Plan usage limit exceeded"),
    "F4007": (400, "Invalid video/audio type"),
    "F4008": (400, "Video duration limit exceeded"),
    "F4009": (400, "Video duration too short (min 5s)"),
    "F40010": (400, "Video resolution limit exceeded"),
    "F40011": (400, "Video resolution too low"),
    "PT0026": (404, "Space subscription info not found"),
    "VT4004": (400, "Cancellation not allowed"),
    "VT4009": (400, "Target language and TTS model pair is not supported"),
    "VT4021": (402, "Insufficient credits"),
    "VT4031": (403, "Access denied"),
    "VT4033": (403, "No access to the space"),
    "VT4041": (404, "Project not found"),
    "VT4042": (404, "Video not found"),
    "VT4043": (404, "Source language not found"),
    "VT4044": (404, "Target language not found"),
    "VT4045": (404, "Project deleted"),
    "VT4091": (409, "Video generation failed"),
    "VT5034": (503, "Queue full"),
}

# ---- INVENTED (not in the documentation) -------------------------------------------------------------
INVENTED_CODES = {
    # The documentation says the first translation in a new space fails with 'space queue not found'
    # but gives no status or code for it.
    "VT4047": (404, "space queue not found"),
    # "429 = rate limited" is documented without a code (also our answer to polling faster than 5 s).
    "TOO_MANY_REQUESTS": (429, "Too many requests"),
    # The documentation says "5xx = retry with backoff" without codes.
    "F5001": (500, "INTERNAL_SERVER_ERROR"),
    # An HTTP method the documentation does not list for the path.
    "METHOD_NOT_ALLOWED": (405, "Method not allowed"),
    # sourceLanguageCode sent empty ("Do not send an empty string — use 'auto' instead").
    "VT4003": (400, "sourceLanguageCode must not be empty (use 'auto')"),
    # A /download target this project has no file for.
    "VT4002": (400, "Unexpected Download value"),
    # /download asked before the files are in storage (download-info says false).
    "VT4092": (409, "Files are not ready"),
    # A required query or body parameter missing on a /video-translator endpoint (F4003 is documented
    # for the file API only).
    "VT4000": (400, "Missing required parameter"),
}
