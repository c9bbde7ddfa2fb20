"""What the runner says when a batch-job cluster's worker jobs cannot start."""

import logging
from types import SimpleNamespace

from {{ cookiecutter.python_package }}.runner.jobs import (
    JobWatch,
)


def test_a_failed_submission_is_reported_not_printed(caplog, tmp_path):
    cluster = SimpleNamespace(
        workers={}, new_spec={"options": {"log_directory": str(tmp_path)}}
    )
    watch = JobWatch(cluster)
    try:
        background = logging.getLogger("tornado.application")
        try:
            raise RuntimeError(
                "Command exited with non-zero exit code.\nstderr:\n"
                "sbatch: error: invalid partition specified: nosuch\n"
            )
        except RuntimeError:
            background.exception("Exception in callback")
        assert "sbatch: error: invalid partition specified: nosuch" in watch.problem()
        assert "Exception in callback" not in caplog.text  # not a background traceback
        assert str(tmp_path) in watch.logs()
    finally:
        watch.close()


def test_nothing_wrong_is_nothing_to_say():
    watch = JobWatch(SimpleNamespace(workers={}))
    try:
        assert watch.problem() is None
        assert "log_directory" in watch.logs()
    finally:
        watch.close()
