# Sourced by train.sh and card.sh: the repository root (the working directory from here on) and
# the folders and programs both use. Environment: WORK (default build-train), OUT (default
# models/default), PY (default .venv/bin/python), TWOTOWER_BIN (see tt_engine).
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo"
py="${PY:-$repo/.venv/bin/python}"
# Absolute, so that links made under them (card.sh's before_distillation/) resolve.
work="$(realpath -m "${WORK:-$repo/build-train}")"
out="$(realpath -m "${OUT:-$repo/models/default}")"

# Sets $binary to the C++ engine: TWOTOWER_BIN when executable, else build/bin/twotower, whose
# twotower target is built when missing. Returns non-zero when that build fails.
tt_engine() {
    binary="${TWOTOWER_BIN:-$repo/build/bin/twotower}"
    [[ -x "$binary" ]] && return 0
    binary="$repo/build/bin/twotower"
    TT_BUILD_TARGET=twotower ./scripts/build.sh >/dev/null
}
