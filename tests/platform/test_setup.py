"""Set-up as a new user meets it: `make run PORT=8080 HOST=0.0.0.0` serves there and says so,
installs the runtime dependencies only, and the package metadata builds without warnings."""
from __future__ import annotations

import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from formloom.cli import served_url

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_run_serves_on_the_port_and_host_it_is_given():
    planned = subprocess.run(["make", "-n", "-B", "run", "PORT=8080", "HOST=0.0.0.0"], cwd=ROOT, check=True,
                             capture_output=True, text=True).stdout
    assert "formloom serve --host 0.0.0.0 --port 8080" in planned
    assert "formloom demo --url http://127.0.0.1:8080" in planned  # the address to open, printed by demo
    assert "pip install -q -e ." in planned and "[dev]" not in planned  # runtime dependencies only
    default = subprocess.run(["make", "-n", "-B", "run"], cwd=ROOT, check=True, capture_output=True,
                             text=True).stdout
    assert "--host 127.0.0.1 --port 5000" in default


def test_the_printed_address_is_one_a_browser_opens():
    assert served_url("0.0.0.0", 8080) == "http://127.0.0.1:8080"
    assert served_url("127.0.0.1", 5000) == "http://127.0.0.1:5000"
    assert served_url("::1", 5000) == "http://[::1]:5000"


def test_demo_prints_where_to_sign_in(runner):
    result = runner.invoke(args=["demo", "--password", "demo-password-1", "--url", "http://127.0.0.1:8080/"])
    assert result.exit_code == 0, result.output
    assert "Sign in at http://127.0.0.1:8080/login" in result.output


def test_the_licence_is_an_spdx_string():
    """A TOML table there makes setuptools print a deprecation banner on every install."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    assert project["project"]["license"] == "Apache-2.0"
    assert any(req.startswith("setuptools>=77") for req in project["build-system"]["requires"])
