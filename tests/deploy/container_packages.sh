#!/usr/bin/env bash
# deploy/container/Containerfile without a container engine (none runs here):
#  - the runtime stage installs the Debian package of every library the twotower
#    binary links (dpkg -S on each of ldd's paths; CUDA's are not packaged here);
#  - the build stage's COPY lines carry enough of the tree for its cmake command:
#    the same configure runs on just those folders.
# Usage: container_packages.sh TWOTOWER_BINARY REPO_ROOT. Exit 77: no dpkg.
set -uo pipefail
bin=$1 repo=$2
file=$repo/deploy/container/Containerfile
command -v dpkg > /dev/null || { echo "SKIP: dpkg not installed"; exit 77; }
runtime=$(awk '/^FROM .* AS runtime/ {r = 1} r' "$file" | tr -s ' \\\n' ' ')
status=0
while read -r lib; do
  case "$lib" in */cuda/*|*libcuda*|*libcublas*|*libnccl*) continue ;; esac
  pkg=$(dpkg -S "$(readlink -f "$lib")" 2> /dev/null | head -1 | cut -d: -f1)
  [ -z "$pkg" ] && pkg=$(dpkg -S "$lib" 2> /dev/null | head -1 | cut -d: -f1)
  case "$pkg" in libc6|libgcc-s1|"") continue ;; esac  # in every Debian image
  if grep -qw -- "$pkg" <<< "$runtime"; then echo "ok: $lib from $pkg"
  else echo "FAIL: $lib comes from $pkg, which the runtime stage does not install"; status=1; fi
done < <(ldd "$bin" | awk '/=> \// {print $3}')
# The build stage: its COPY sources into a scratch tree, then its cmake configure line.
T=$(mktemp -d /tmp/tt-container-XXXXXX)
mkdir -p "$T/src"
while read -r src dst; do cp -r "$repo/$src" "$T/src/"; done < <(awk '/^FROM .* AS runtime/ {exit} /^COPY / && !/--from/ {print $2, $3}' "$file")
flags=$(grep -o -- '-DCMAKE_BUILD_TYPE=[^ ]*\|-DTWOTOWER_[A-Z_]*=[^ ]*' "$file" | tr '\n' ' ')
# shellcheck disable=SC2086
if cmake -S "$T/src" -B "$T/build" $flags > "$T/configure.log" 2>&1; then
  echo "ok: the build stage's tree configures with: $flags"
else
  echo "FAIL: the build stage's cmake fails on the copied tree:"; tail -15 "$T/configure.log"; status=1
fi
rm -rf "$T"
exit $status
