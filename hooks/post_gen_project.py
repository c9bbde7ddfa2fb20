"""Record where the project came from, so that `make update-starter` (cruft) can bring
it the starter's later fixes: the starter's source, its commit and the answers.

It writes `.cruft.json` in cruft's own format. Nothing is recorded when cruft itself
renders the starter (`cruft create` and `cruft update` write the file themselves),
and the commit is left empty when the starter is not a git checkout: the project's
docs then give the one command that links it (`cruft link <starter>`).
"""

import json
import subprocess
import sys
from pathlib import Path

# Cookiecutter renders this file; the context arrives here as a JSON text.
RENDERED_CONTEXT = r"""{{ cookiecutter | tojson }}"""
# Where this machine happened to render from: meaningless anywhere else.
LOCAL_KEYS = ("_output_dir", "_repo_dir")


def commit_of(folder: str | None) -> str | None:
    """The commit checked out in ``folder``, if it is a git checkout."""
    if not folder:
        return None
    try:
        found = subprocess.run(
            ["git", "-C", folder, "rev-parse", "HEAD"],
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return None
    return (found.stdout.strip() or None) if found.returncode == 0 else None


def template_source(template: str) -> str:
    """A source git can clone: no ``git+`` prefix, local folders absolute."""
    if template.startswith("git+"):
        return template[len("git+") :]
    if "://" not in template and not template.startswith("git@"):
        return str(Path(template).expanduser().resolve())
    return template


def cruft_state(context: dict) -> dict:
    answers = {k: v for k, v in context.items() if k not in LOCAL_KEYS}
    answers["_template"] = template_source(str(context.get("_template", "")))
    return {
        "template": answers["_template"],
        "commit": commit_of(context.get("_repo_dir")),
        "checkout": context.get("_checkout"),
        "context": {"cookiecutter": answers},
        "directory": None,
    }


def main(rendered_context: str = RENDERED_CONTEXT, project: Path | None = None) -> int:
    """Cookiecutter runs this in the new project's folder."""
    project = project or Path.cwd()
    context = json.loads(rendered_context)
    if "_commit" in context:  # cruft is rendering: it records the state itself
        return 0
    state = cruft_state(context)
    (project / ".cruft.json").write_text(json.dumps(state, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
