"""Builds ernie._ernie with the project's CMake (the extension target only) and packages it.

The build folder is $ERNIE_BUILD_DIR when set (an existing build tree: its compiled objects are
reused, so this only links what changed), else build-pip/ at the repository root.
"""
import os
import pathlib
import shutil
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        if not (ROOT / "CMakeLists.txt").exists():
            sys.exit(f"setup.py: expected the ernie.cpp sources around {HERE} (pip install ./python from a clone)")
        build = pathlib.Path(os.environ.get("ERNIE_BUILD_DIR") or ROOT / "build-pip").resolve()
        if not (build / "CMakeCache.txt").exists():
            cmd = ["cmake", "-S", str(ROOT), "-B", str(build), "-G", "Ninja", "-DCMAKE_BUILD_TYPE=Release",
                   "-DERNIE_PYTHON=ON", "-DERNIE_BUILD_TESTS=OFF", f"-DPython3_EXECUTABLE={sys.executable}"]
            try:
                import pybind11
                cmd.append(f"-Dpybind11_DIR={pybind11.get_cmake_dir()}")
            except ImportError:
                pass  # Debian's pybind11-dev is found by CMake itself
            subprocess.check_call(cmd)
        jobs = os.environ.get("ERNIE_BUILD_JOBS") or str(os.cpu_count() or 2)
        subprocess.check_call(["cmake", "--build", str(build), "--target", "_ernie", "-j", jobs])
        built = sorted((build / "python" / "ernie").glob("_ernie*.so"))
        if not built:
            sys.exit(f"setup.py: no _ernie*.so in {build / 'python' / 'ernie'}")
        dest = pathlib.Path(self.get_ext_fullpath(ext.name))
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(built[0], dest)


setup(ext_modules=[Extension("ernie._ernie", sources=[])], cmdclass={"build_ext": CMakeBuild})
