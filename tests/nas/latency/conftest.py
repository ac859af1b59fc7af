"""The latency tests' shared table: st_topo at 32 px, timed quickly with nas-profile (read-only to the tests)."""
import pytest

from nas.cli.profile import main as profile


@pytest.fixture(scope="session")
def st_lut(tmp_path_factory):
    path = tmp_path_factory.mktemp("lut") / "st32.json"
    assert profile(["--space", "st_topo", "--resolution", "32", "--out", str(path), "--reps", "3", "--warmup", "1",
                    "--clock", "cpu"]) == 0
    return path
