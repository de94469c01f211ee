"""`agentfactory bench`: the JSON it prints, and the services it starts and stops.

These check the benchmark's shape and bookkeeping, not that targets are met:
that depends on the machine.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from agentfactory.bench.agent_cases import EXAMPLE_COMMANDS
from agentfactory.bench.timing import CaseResult, Sample, Target, render_table

REQUIRED = {"ours_s", "baseline_s", "ratio", "target", "met"}


def _bench(*args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTFACTORY_")}
    return subprocess.run([sys.executable, "-m", "agentfactory.cli", "bench", "--quick", "--json", "--no-progress", *args],
                          env=env, capture_output=True, text=True, timeout=timeout)


def _check_case(name: str, case: dict) -> None:
    assert REQUIRED <= set(case), name
    ours, base = case["ours_s"], case["baseline_s"]
    assert isinstance(ours, float) and ours > 0 and isinstance(base, float) and base > 0, (name, case)
    # the ratio comes from both medians, in the direction the case name says
    expected = base / ours if "MB/s" in name else ours / base
    assert math.isclose(case["ratio"], expected, rel_tol=1e-9), (name, case)
    assert case["ours_min_s"] <= ours <= case["ours_max_s"]
    assert case["baseline_min_s"] <= base <= case["baseline_max_s"]
    assert case["met"] in (True, False, None)
    assert (case["met"] is None) == (case["target"] is None)


@pytest.mark.services
def test_quick_run_starts_and_stops_its_own_services(tmp_path):
    home = tmp_path / "benchhome"
    out = _bench("--only", "hit", "--only", "trajectory", "--home", str(home))
    assert out.returncode == 0, out.stderr
    results = json.loads(out.stdout)  # one JSON object, nothing else on stdout
    assert set(results) == {"hit 1 KiB (time ratio)", "hit 512 KiB (time ratio)", "hit 3 MiB chunked (time ratio)",
                            "trajectory 100,000 steps + to_frame (time ratio)"}
    for name, case in results.items():
        _check_case(name, case)
    traj = results["trajectory 100,000 steps + to_frame (time ratio)"]
    assert traj["target"] == "ours < 0.5 s" and traj["met"] == (traj["ours_s"] < 0.5)
    assert traj["record_us_per_step"] > 0
    assert results["hit 1 KiB (time ratio)"]["met"] == (results["hit 1 KiB (time ratio)"]["ratio"] <= 1.5)
    # everything the bench started is gone again
    assert not (home / "services.json").exists()
    leftovers = [p for p in psutil.process_iter(["cmdline"])
                 if str(home) in " ".join(p.info["cmdline"] or []) or _in_env(p, str(home))]
    assert not leftovers, leftovers


def _in_env(proc: psutil.Process, needle: str) -> bool:
    try:
        return any(needle in v for v in proc.environ().values())
    except psutil.Error:
        return False


@pytest.mark.services
def test_running_services_are_used_and_left_running(services, services_state):
    out = _bench("--only", "bridge", "--home", str(services.home))
    assert out.returncode == 0, out.stderr
    results = json.loads(out.stdout)
    assert len(results) == 6
    for name, case in results.items():
        _check_case(name, case)
        assert "MB/s" in name and case["ratio_kind"].startswith("MB/s")
    assert results["bridge get 16 MiB (MB/s ratio)"]["target"] == "ratio >= 0.6"
    assert results["bridge get 1 MiB (MB/s ratio)"]["target"] == "ratio >= 0.5"
    after = services.load_state()
    assert after is not None
    for name in ("memcached", "iowarp", "bridge"):
        assert getattr(after, name).pid == getattr(services_state, name).pid
        assert psutil.pid_exists(getattr(after, name).pid)
    # the bench cleaned up its tags
    store = services.open_store()
    try:
        assert not store.iowarp.list_tags("afbench_*")
    finally:
        store.close()


def test_cases_without_services_start_nothing(tmp_path):
    home = tmp_path / "h"
    out = _bench("--only", "router", "--home", str(home))
    assert out.returncode == 0, out.stderr
    (name, case), = json.loads(out.stdout).items()
    _check_case(name, case)
    assert case["commands_per_s"] > 0 and case["commands"] == len(EXAMPLE_COMMANDS)
    assert not (home / "services.json").exists()


def test_unknown_case_is_refused(tmp_path):
    out = _bench("--only", "nosuch", "--home", str(tmp_path))
    assert out.returncode == 2 and "nosuch" in out.stderr and "trajectory" in out.stderr


def test_example_commands_match_the_public_file(repo_root: Path):
    lines = (repo_root / "tests" / "data" / "commands.jsonl").read_text().splitlines()
    assert EXAMPLE_COMMANDS == tuple(json.loads(line)["command"] for line in lines if line.strip())


def test_ratio_direction_and_targets():
    time_case = CaseResult("t", "time", Sample([2.0, 3.0, 4.0]), Sample([1.0, 2.0, 5.0]), target=Target("<=", 1.5))
    assert time_case.ratio == 1.5 and time_case.met is True
    rate = CaseResult("r", "throughput", Sample([4.0]), Sample([2.0]), target=Target(">=", 0.8), nbytes=1 << 20)
    assert rate.ratio == 0.5 and rate.met is False
    absolute = CaseResult("a", "time", Sample([0.4]), Sample([0.1]), target=Target("<", 0.5, on="ours_s"))
    assert absolute.met is True and absolute.to_json()["ratio"] == 4.0
    table = render_table([time_case, rate, absolute])
    assert "MB/s" in table and "NO" in table and "yes" in table


def test_policy_rows_compare_against_our_lru_and_start_nothing(tmp_path):
    home = tmp_path / "h"
    out = _bench("--only", "policies", "--home", str(home))
    assert out.returncode == 0, out.stderr
    cases = json.loads(out.stdout)
    assert len(cases) == 2
    for name, case in cases.items():
        _check_case(name, case)
        assert case["lru_requests_per_s"] > 0
    learned = next(case for name, case in cases.items() if "learned" in name)
    assert learned["ratio"] > 1  # the learned policy does more work per request than LRU, and says how much
    assert not (home / "services.json").exists()
