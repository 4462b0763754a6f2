"""`manage.py serve_web`: the embedded web server (waitress; see apps/core/webserver.py)."""

from django.core.management import BaseCommand, CommandParser

from apps.core.webserver import serve
from vibi.wsgi import application


class Command(BaseCommand):
    help = "Serves the API, admin and (embedded) simulators with a buffering server that slow clients cannot stall."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args: str, host: str, port: int, **options: object) -> None:
        serve(application, host=host, port=port)
