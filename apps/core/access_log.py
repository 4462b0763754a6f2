"""Access-log helpers shared by both web servers: credentials in query strings never reach a log."""

from urllib.parse import parse_qsl, urlencode

# Query parameters whose value is a credential (signed-URL tokens, S3 presigned signatures, API keys).
SECRET_QUERY_PARAMETERS = frozenset(
    {"token", "key", "access_token", "id_token", "signature", "x-amz-signature", "x-amz-credential", "sig"}
)
REDACTED = "REDACTED"


def redact_query(query_string: str) -> str:
    """The query string with every credential's value replaced (the access log's form of it)."""
    if not query_string:
        return ""
    pairs = parse_qsl(query_string, keep_blank_values=True)
    return urlencode([(name, REDACTED if name.lower() in SECRET_QUERY_PARAMETERS else value) for name, value in pairs])
