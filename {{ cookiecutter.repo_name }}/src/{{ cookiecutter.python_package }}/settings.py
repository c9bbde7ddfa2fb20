"""Project settings. See https://docs.kedro.org/en/stable/configure/configuration_basics/"""

from kedro.config import OmegaConfigLoader

CONFIG_LOADER_CLASS = OmegaConfigLoader
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # `--params a.b=1` and conf/<env>/parameters.yml update a block key by key
    # instead of replacing the whole block.
    "merge_strategy": {"parameters": "soft"},
}

# Project hooks, for example:
# from {{ cookiecutter.python_package }}.hooks import ProjectHooks
# HOOKS = (ProjectHooks(),)
