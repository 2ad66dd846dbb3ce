"""CTest entry of the Python suite: exit 77 (CTest's skip) with a reason when the package or
pytest is missing, else run pytest with the given arguments."""
import sys

try:
    import pytest
except ImportError:
    print("skipped: pytest is not installed (Debian package python3-pytest)")
    sys.exit(77)
try:
    import ernie  # noqa: F401
except ImportError as e:
    print(f"skipped: the ernie extension is not importable ({e}); build it with cmake (ERNIE_PYTHON) or `make python`")
    sys.exit(77)
sys.exit(pytest.main(sys.argv[1:]))
