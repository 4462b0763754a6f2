"""Queue names, declared once. A worker type consumes exactly one of them."""

UPLOAD = "upload"
PERSO = "perso"
GEMINI = "gemini"
RENDER = "render"
DEFAULT = "default"

ALL = (UPLOAD, PERSO, GEMINI, RENDER, DEFAULT)
