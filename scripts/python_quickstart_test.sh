#!/usr/bin/env bash
# Runs the README's Python quick start as written (the sh block after <!-- python-quickstart -->)
# in a fresh copy of the working tree: a new venv (--system-site-packages), pip install
# --no-build-isolation ./python, the example. With a build folder argument (CTest passes its own)
# pip reuses that build's extension (ERNIE_BUILD_DIR) instead of compiling libernie again.
# Exit 77 (CTest's skip) when python3-venv is missing.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
if [ -n "${1:-}" ]; then export ERNIE_BUILD_DIR=$(cd "$1" && pwd); fi
py=${Python3_EXECUTABLE:-/usr/bin/python3}
if ! "$py" -c "import venv, ensurepip" 2>/dev/null; then
  echo "skipped: $py cannot create venvs (Debian package python3-venv)"; exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The fresh copy: what git tracks or would track (no build folders, no built extension).
if git -C "$root" rev-parse --git-dir >/dev/null 2>&1; then
  (cd "$root" && git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
     [ -e "$f" ] && printf '%s\0' "$f"; done | tar --null -T - -cf -) | tar -xf - -C "$work"
else
  (cd "$root" && tar --exclude='./build*' --exclude='*.so' -cf - .) | tar -xf - -C "$work"
fi
# The README's block, verbatim.
awk '/<!-- python-quickstart -->/ {on=1; next} on && /^```sh/ {inb=1; next} inb && /^```/ {exit} inb {print}' \
  "$root/README.md" > "$work/quickstart.sh"
[ -s "$work/quickstart.sh" ] || { echo "README.md has no python-quickstart block"; exit 1; }
echo "--- README quick start:"; cat "$work/quickstart.sh"; echo "---"
cd "$work"
out=$(bash -euo pipefail quickstart.sh 2>&1) || { echo "$out"; echo "FAILED: the quick start"; exit 1; }
echo "$out" | tail -n 20
# The example prints the shapes it promises in its comments.
echo "$out" | grep -q "^(2, 3) (2, 6, 28)$" || { echo "FAILED: unexpected output"; exit 1; }
echo "ok: README Python quick start"
