"""Upload worker (queue `upload`): moves source media to Perso (trim, SAS upload, register, submit).

Start: celery -A vibi worker -Q upload -n upload@%h --concurrency 4
"""
