"""{{ cookiecutter.project_name }}: a Kedro project that runs on Dask."""

__version__ = "0.1.0"
