#!/bin/sh
# The entry point of the image `kedro docker build` makes. kedro-docker mounts the
# project's folders over data/, logs/...: when they are not writable by the user this
# image runs as (say kedro-docker ran as root, so the folders belong to root), stop at
# once with the one command that fixes it, instead of failing deep inside a save.
# Only `kedro run` writes there; `kedro docker cmd id` and the like just run.
[ "${1:-}" = kedro ] && [ "${2:-}" = run ] || exec "$@"
for folder in data logs; do
    if [ -d "$folder" ] && [ ! -w "$folder" ]; then
        echo "error: $PWD/$folder, mounted from your project, is not writable by uid $(id -u)," >&2
        echo "       the user this image runs as. On the host, in the project folder, run:" >&2
        echo "       sudo chown -R $(id -u):$(id -g) data logs notebooks references results conf/local" >&2
        exit 1
    fi
done
exec "$@"
