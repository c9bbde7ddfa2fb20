"""Validate the answers before cookiecutter writes any project file.

The answers reach this script as JSON data (``tojson`` escapes quotes), never as
code, so a name with quotes or backslashes cannot break or inject into the hook.
On failure cookiecutter deletes the half-made project folder. (Answers with template
syntax or path parts never get this far: see answer_guard.py.) The rules are plain
functions, unit-tested in tests/fast/test_hook.py.
"""

import json
import keyword
import re
import sys

# Cookiecutter renders this file; the answers arrive here as a JSON text.
RENDERED_ANSWERS = r"""{{ cookiecutter | tojson }}"""

# Docker's rule for an image name component: repo_name is also the image name.
REPO_NAME_RULE = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
PACKAGE_NAME_RULE = re.compile(r"^[a-z_][a-z0-9_]*$")
PROJECT_NAME_RULE = re.compile(r"^[A-Za-z][\w -]{1,}$")

# The generated project imports these; a package of the same name would shadow them.
# (Whatever else is installed where `kedro new` runs does not matter: the project gets
# an environment of its own.)
PROJECT_DEPENDENCIES = {
    "kedro", "kedro_datasets", "dask", "distributed", "pandas", "numpy",
    "pyarrow", "click", "rich", "yaml", "omegaconf", "tornado", "cloudpickle",
    "pytest", "prefect", "hera", "runner", "tests", "conf", "data", "src",
}  # fmt: skip


def problems(answers: dict) -> list[str]:
    """Every broken rule, as 'field: value is wrong because...; do this' lines."""
    found = []
    project_name = str(answers.get("project_name", ""))
    repo_name = str(answers.get("repo_name", ""))
    package = str(answers.get("python_package", ""))

    if not PROJECT_NAME_RULE.match(project_name.strip()):
        found.append(
            f"project_name {project_name!r}: must start with a letter, use only "
            "letters, digits, spaces, hyphens and underscores, and be at least 2 "
            "characters long."
        )
    if not REPO_NAME_RULE.match(repo_name):
        found.append(
            f"repo_name {repo_name!r}: it names the project folder and the Docker "
            "image, so it must be lowercase letters and digits separated by single "
            "'.', '_' or '-' (for example 'rocket-science')."
        )
    if not PACKAGE_NAME_RULE.match(package) or not package.isidentifier():
        found.append(
            f"python_package {package!r}: must be a lowercase Python identifier "
            "(letters, digits and underscores, not starting with a digit)."
        )
    elif keyword.iskeyword(package) or keyword.issoftkeyword(package):
        found.append(f"python_package {package!r}: is a Python keyword.")
    elif package in sys.stdlib_module_names:
        found.append(
            f"python_package {package!r}: would shadow the standard-library module '{package}'."
        )
    elif package in PROJECT_DEPENDENCIES:
        found.append(
            f"python_package {package!r}: would shadow the module '{package}' that "
            "the project depends on."
        )
    return found


def main(rendered_answers: str = RENDERED_ANSWERS) -> int:
    found = problems(json.loads(rendered_answers))
    if not found:
        return 0
    print("Cannot create the project:", file=sys.stderr)
    for line in found:
        print(f"  - {line}", file=sys.stderr)
    print(
        "Choose another project name (kedro new --name '...'), or set repo_name / "
        "python_package explicitly in the --config file.",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
