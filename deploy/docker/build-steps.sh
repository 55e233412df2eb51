#!/usr/bin/env bash
# The container image's build steps, one per stage of the Dockerfile. The Dockerfile runs
# this script; so does tests/deploy/test_image_steps.py, with the same arguments, in a
# scratch copy of the build context (no Docker engine runs on the development machines).
#
#   build-steps.sh assets                   Node stage: tracker and dashboard from their lockfiles
#   build-steps.sh wheel DIST BUILD_VENV     Python stage: compile the write path, build the wheel
#   build-steps.sh install DIST VENV        runtime: VENV with the wheel, its compiled path checked
#
# Run from the root of the build context.
set -euo pipefail

step=${1:-}

npm_build() {
  (cd "$1" && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build)
}

case "$step" in
  assets)
    npm_build tracker
    # The dashboard (frontend/) is built when it exists, as `make dashboard` does.
    if [ -f frontend/package.json ]; then
      npm_build frontend
    fi
    test -f src/footfall/web/static/tracker/script.js
    ;;
  wheel)
    dist=${2:?usage: build-steps.sh wheel DIST BUILD_VENV}
    venv=${3:?usage: build-steps.sh wheel DIST BUILD_VENV}
    test -f src/footfall/web/static/tracker/script.js || {
      echo "build-steps.sh: the tracker is not built (run the assets step first)" >&2
      exit 1
    }
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -e '.[compile]'
    # --require: an image without the compiled write path is slower, so it is a failed build.
    "$venv/bin/python" scripts/compile_hot_path.py --require
    "$venv/bin/pip" wheel --quiet --disable-pip-version-check --no-deps --wheel-dir "$dist" .
    ;;
  install)
    dist=${2:?usage: build-steps.sh install DIST VENV}
    venv=${3:?usage: build-steps.sh install DIST VENV}
    wheels=("$dist"/footfall-*.whl)
    if [ "${#wheels[@]}" -ne 1 ] || [ ! -f "${wheels[0]}" ]; then
      echo "build-steps.sh: expected one footfall wheel in $dist" >&2
      exit 1
    fi
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "${wheels[0]}"
    # The installed package, not a source tree, must report the compiled write path.
    (cd / && "$venv/bin/python" -c 'import footfall, sys; print("write path:", footfall.HOT_PATH); sys.exit(footfall.HOT_PATH != "compiled")')
    ;;
  *)
    echo "usage: build-steps.sh assets | wheel DIST BUILD_VENV | install DIST VENV" >&2
    exit 2
    ;;
esac
