"""Google sign-in simulator: the certs document google-auth verifies against, and test ID tokens."""

import json

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from apps.simulators.google.keys import certs_document, issue_id_token


@require_GET
def certs(request):
    return JsonResponse(certs_document())


@csrf_exempt
@require_POST
def token(request):
    """POST {sub, email, aud, name?, picture?, emailVerified?, expiresIn?} → {idToken}."""
    try:
        body = json.loads(request.body or b"{}")
        id_token = issue_id_token(
            sub=str(body["sub"]),
            email=str(body["email"]),
            aud=str(body["aud"]),
            name=body.get("name"),
            picture=body.get("picture"),
            email_verified=bool(body.get("emailVerified", True)),
            expires_in=int(body.get("expiresIn", 3600)),
        )
    except (ValueError, KeyError, TypeError):
        return JsonResponse({"error": "bad_request", "detail": "sub, email and aud are required"}, status=400)
    return JsonResponse({"idToken": id_token})
