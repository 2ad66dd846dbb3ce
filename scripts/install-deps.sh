#!/usr/bin/env bash
# Installs the Debian packages ernie.cpp builds and tests with. Uses sudo when not root.
# Skips apt entirely when everything is already installed. `fuzz` adds clang-14 + libFuzzer,
# `bench` the comparison engines (PyTorch on OpenBLAS, Node).
set -euo pipefail
PACKAGES=(cmake ninja-build g++ make pkg-config libdnnl-dev libxsmm-dev nlohmann-json3-dev libcli11-dev libgtest-dev
          libbenchmark-dev libutf8proc-dev libzip-dev libhwy-dev
          libcpp-httplib-dev   # ernie serve
          openmpi-bin libopenmpi-dev   # mpirun: data-parallel training, sharded batch inference
          chromium chromium-driver   # the serve web page's browser test (headless, WebDriver)
          fortunes             # the demo's text corpus (make demo)
          python3-jieba        # jieba's dictionary for the word segmenter; its tests compare with jieba
          python3-dev pybind11-dev python3-pybind11 python3-numpy python3-pytest   # the Python package
          python3-setuptools python3-venv)   # its pip install path (scripts/python_quickstart_test.sh)
# `install-deps.sh fuzz`: also the libFuzzer toolchain (clang 14 with its sanitizer runtimes and
# OpenMP runtime: the fuzzing build instruments the whole library).
[ "${1:-}" = "fuzz" ] && PACKAGES+=(clang-14 libclang-rt-14-dev libomp-14-dev)
# `install-deps.sh bench`: also what bench/ compares against: PyTorch (ONNX export, training
# baselines) on OpenBLAS (without libopenblas0-pthread Debian's torch runs on the reference BLAS,
# several times slower), and Node for ONNX Runtime.
[ "${1:-}" = "bench" ] && PACKAGES+=(python3-torch python3-numpy libopenblas0-pthread)
# Node from Debian unless one is already there (NodeSource's nodejs bundles npm and conflicts
# with Debian's npm package).
[ "${1:-}" = "bench" ] && ! command -v npm >/dev/null && PACKAGES+=(nodejs npm)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "installing: ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
