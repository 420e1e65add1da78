import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def switchboard() -> pathlib.Path:
    """The built `switchboard` binary (scripts/test.sh builds it before pytest runs)."""
    configured = os.environ.get("SWITCHBOARD_BIN")
    if configured:
        return pathlib.Path(configured)
    binary = ROOT / ".build" / "debug" / "switchboard"
    if not binary.exists():
        subprocess.run(["swift", "build", "--product", "switchboard"], cwd=ROOT, check=True)
    return binary


@pytest.fixture
def run(switchboard):
    def run(*args, check=False):
        result = subprocess.run([str(switchboard), *map(str, args)], capture_output=True, text=True, timeout=120)
        if check and result.returncode != 0:
            raise AssertionError(f"switchboard {' '.join(map(str, args))} failed: {result.stderr}")
        return result
    return run


@pytest.fixture
def demo_store(tmp_path, run):
    store = tmp_path / "demo.sqlite"
    run("demo", "--store", store, "--format", "ndjson", check=True)
    return store
