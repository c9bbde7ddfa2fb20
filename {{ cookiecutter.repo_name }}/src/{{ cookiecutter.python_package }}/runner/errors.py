"""The base of the errors the runner explains in their message: what went wrong, the
value involved and the fix. `kedro run` prints them without a traceback."""


class DaskRunError(Exception):
    """An error whose message is enough; see cli.py."""
