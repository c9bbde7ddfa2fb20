"""Run with the lab project's python: the example pipeline N times in a row on the
scheduler at ADDRESS, each run its own KedroSession and Dask client, as `kedro run`."""

import sys
from pathlib import Path

from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
from rocket_science.runner import DaskRunner

if __name__ == "__main__":
    address, times = sys.argv[1], int(sys.argv[2])
    bootstrap_project(Path.cwd())
    for _ in range(times):
        with KedroSession.create(project_path=Path.cwd(), env="dask") as session:
            session.run(runner=DaskRunner(address=address))
