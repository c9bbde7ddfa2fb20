"""Deploy the pipeline as a DAG of `kedro run --nodes=...` tasks on an orchestrator.

``plan`` turns the pipeline into tasks, ``check`` finds data that could not cross
between tasks, ``argo`` and ``prefect_flow`` make targets from the plan, and ``cli``
adds them as ``kedro deploy ...``.
"""

__version__ = "{{ cookiecutter._starter_version }}"
