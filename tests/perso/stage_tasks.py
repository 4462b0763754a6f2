"""A stage task used only by the Perso worker test: it ends the job as succeeded."""

from workers.base import job_stage_task


@job_stage_task(soft_time_limit=60)
def perso_test_finish_task(job):
    from apps.jobs.services import job_succeed

    job_succeed(job=job, result_updates={"finishedBy": "perso_test_finish_task"})
