#!/bin/sh
# The image's entry point: `vibi <role> [args…]`.
#   web                     gunicorn on $PORT (WEB_WORKERS × WEB_THREADS)
#   worker <queue> [queue…] a Celery worker of those queues (pool and size: workers/pools.py)
#   beat                    the Celery beat scheduler (one per deployment)
#   migrate                 applies the database migrations, then exits
#   createsuperuser [args]  Django's createsuperuser (interactive with -it, or --noinput + DJANGO_SUPERUSER_*)
#   manage <command…>       any manage.py command
#   healthcheck             the HEALTHCHECK of whichever role this container runs
set -eu
run_dir="${VIBI_DATA_DIR:-/var/lib/vibi}/run"
mkdir -p "$run_dir"
role="${1:-web}"
[ $# -gt 0 ] && shift

case "$role" in
  web)
    echo web > "$run_dir/role"
    python /app/manage.py collectstatic --noinput --verbosity 0
    exec gunicorn vibi.wsgi --config python:vibi.gunicorn_config --bind "0.0.0.0:${PORT:-8000}" \
      --workers "${WEB_WORKERS:-4}" --threads "${WEB_THREADS:-8}" --timeout "${WEB_TIMEOUT:-900}" \
      --graceful-timeout 60 --access-logfile -
    ;;
  worker)
    [ $# -gt 0 ] || { echo "usage: vibi worker <queue> [queue…]" >&2; exit 2; }
    queues=$(echo "$*" | tr ' ' ',')
    node="$(echo "$queues" | tr ',' '-')@$(hostname)"
    # -Q, --pool (threads for I/O queues, prefork for render), --concurrency, --prefetch-multiplier
    options=$(cd /app && python -m workers.pools "$@")
    echo "worker $node" > "$run_dir/role"
    # shellcheck disable=SC2086  # $options is a list of words
    exec celery -A vibi worker $options -n "$node" --loglevel "${LOG_LEVEL:-INFO}"
    ;;
  beat)
    echo beat > "$run_dir/role"
    exec celery -A vibi beat --loglevel "${LOG_LEVEL:-INFO}" --pidfile "$run_dir/beat.pid"
    ;;
  migrate)
    exec python /app/manage.py migrate --noinput
    ;;
  createsuperuser)
    exec python /app/manage.py createsuperuser "$@"
    ;;
  manage)
    exec python /app/manage.py "$@"
    ;;
  healthcheck)
    current=$(cat "$run_dir/role" 2>/dev/null || echo none)
    case "$current" in
      web)
        exec python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000'), timeout=10)"
        ;;
      worker*)
        exec celery -A vibi inspect ping --timeout 10 --destination "${current#worker }"
        ;;
      beat)
        kill -0 "$(cat "$run_dir/beat.pid")"  # the shell's builtin: the image has no procps
        ;;
      *) exit 0 ;;
    esac
    ;;
  *)
    echo "unknown role '$role' (web, worker <queue…>, beat, migrate, createsuperuser, manage, healthcheck)" >&2
    exit 2
    ;;
esac
