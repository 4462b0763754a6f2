"""Celery configuration: broker from settings, routing by worker module, beat schedule."""

from django.conf import settings
from kombu import Queue

from workers import queues

broker_url = settings.CELERY_BROKER_URL
broker_transport_options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
broker_connection_retry_on_startup = True
# Under this process's own data folder (issue 13), never the working directory.
beat_schedule_filename = settings.CELERY_BEAT_SCHEDULE_FILENAME

accept_content = ["json"]
task_serializer = "json"
result_serializer = "json"
task_ignore_result = True
result_backend = None

task_acks_late = True
task_reject_on_worker_lost = True
worker_prefetch_multiplier = 1
worker_hijack_root_logger = False
worker_cancel_long_running_tasks_on_connection_loss = False
# Task events for Flower and `celery events` (issue 18).
worker_send_task_events = True
task_send_sent_event = True

# Every worker process imports every task module, so any worker can name any task.
imports = ("workers.upload", "workers.perso", "workers.gemini", "workers.render", "workers.housekeeping")

task_default_queue = queues.DEFAULT
task_queues = [Queue(name) for name in queues.ALL]
# The queue follows the module: a task in workers/render.py runs on the render workers.
task_routes = {f"workers.{name}.*": {"queue": name} for name in queues.ALL if name != queues.DEFAULT} | {
    "workers.housekeeping.*": {"queue": queues.DEFAULT}
}

# Every periodic task has `expires` (a tick that waited longer than its interval is dropped), so a
# backlog after an outage does not replay stale sweeps in a burst.
beat_schedule = {
    "poll-due-perso-jobs": {
        "task": "workers.perso.poll_due_jobs_task",
        "schedule": float(settings.POLL_TICK_SEC),
        "options": {"expires": float(settings.POLL_TICK_SEC)},
    },
    "reconcile-lost-jobs": {
        "task": "workers.housekeeping.reconcile_jobs_task",
        "schedule": float(settings.RECONCILE_INTERVAL_SEC),
        "options": {"expires": float(settings.RECONCILE_INTERVAL_SEC)},
    },
    "delete-expired-jobs": {
        "task": "workers.housekeeping.delete_expired_jobs_task",
        "schedule": 600.0,
        "options": {"expires": 600.0},
    },
    "delete-old-ops-records": {
        "task": "workers.housekeeping.delete_old_ops_records_task",
        "schedule": 3600.0,
        "options": {"expires": 3600.0},
    },
}
