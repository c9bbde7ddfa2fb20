"""Project settings. See https://docs.kedro.org/en/stable/configure/configuration_basics/"""

import warnings

from kedro.config import OmegaConfigLoader

from {{ cookiecutter.python_package }}.runner.hooks import (
    DaskRunnerHooks,
)

# Kedro 1.7 registers its resolvers with the OmegaConf call that OmegaConf now marks
# deprecated: five warnings a run that a user can do nothing about.
warnings.filterwarnings(
    "ignore", message=r"register_new_resolver\(\) is deprecated", category=UserWarning
)

CONFIG_LOADER_CLASS = OmegaConfigLoader
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # `--params a.b=1` and conf/<env>/parameters.yml update a block key by key
    # instead of replacing the whole block.
    "merge_strategy": {"parameters": "soft"},
}

# Project hooks. DaskRunnerHooks tells the Dask runner which environment, conf
# source, --params and credential names a session uses: keep it when you add yours,
# e.g. HOOKS = (DaskRunnerHooks(), ProjectHooks()).
HOOKS = (DaskRunnerHooks(),)
