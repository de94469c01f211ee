"""From a sentence to a scored trajectory row, on real services."""

from __future__ import annotations

import random
import re
import subprocess
import sys
import textwrap
import warnings

import h5py
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from gymnasium.wrappers import TimeLimit

from agentfactory.demo import DEMO_COMMANDS, write_sample_data
from agentfactory.env import IOWarpEnv, make_env
from agentfactory.session import Session
from agentfactory.sources import DataRoots

pytestmark = pytest.mark.services


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    write_sample_data(tmp_path)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def session(services, workdir, tmp_path):
    s = Session(settings=services.settings, services=services, roots=DataRoots([workdir], cwd=workdir))
    yield s
    s.close()


def unique(commands, tag):
    return [re.sub(r"\bdocs\b", tag, c) for c in commands]


def test_the_seed_demo_becomes_exactly_this_dataframe(session, tag):
    for command in unique(DEMO_COMMANDS, tag):
        session.run(command)
    df = session.trajectory.to_frame()
    got = list(zip(df.agent, df.action, df.ok, df.reward.round(2), df.cache_hit.astype(object), df.tier.astype(object)))
    NA = __import__("pandas").NA
    assert got == [
        ("ingestor", "assimilate", True, 0.10, NA, "both"),
        ("ingestor", "assimilate", True, 0.10, NA, "both"),
        ("retriever", "query", True, 0.10, NA, "cache"),
        ("retriever", "retrieve", True, 0.30, True, "cache"),  # write-through cached it
        ("retriever", "prune", True, 0.05, NA, "cache"),
        ("retriever", "retrieve", True, 0.20, False, "iowarp"),  # miss, served by IOWarp, re-cached
        ("retriever", "retrieve", True, 0.30, True, "cache"),
        ("ingestor", "destroy", True, 0.05, NA, "both"),
        ("retriever", "retrieve", False, -0.50, NA, NA),
    ]
    assert df.error.iloc[-1] == "tag_not_found"  # read after destroy: the tag is gone
    assert df.blobs.iloc[2] == 3  # the query saw the three cached sample docs
    assert (df.backend == "rule").all()


def test_check_env_passes(store, tmp_path):
    env = IOWarpEnv(store, roots=DataRoots([tmp_path], cwd=tmp_path))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the checker's advice about render modes is not a failure
        check_env(env, skip_render_check=True)


def no_store():
    pytest.fail("this step should never reach the store")


UNKNOWN = {"action": "teleport", "tag": "t"}  # fails validation: a step all the same, no store needed


def test_reset_with_a_seed_seeds_the_env_and_leaves_the_global_random_alone():
    env = IOWarpEnv(no_store)
    random.seed(1234)
    state = random.getstate()
    env.reset(seed=7)
    assert random.getstate() == state  # the user's generator is theirs
    samples = [env.action_space.sample() for _ in range(8)]
    env.reset(seed=7)
    assert [env.action_space.sample() for _ in range(8)] == samples  # samples follow the env's seed


def test_make_env_truncates_at_max_steps_through_gymnasiums_time_limit():
    env = make_env(no_store, max_steps=2)
    assert isinstance(env, TimeLimit) and isinstance(env.unwrapped, IOWarpEnv)
    env.reset(seed=0)
    assert [env.step(UNKNOWN)[2:4] for _ in range(2)] == [(False, False), (False, True)]
    env.reset()
    assert env.step(UNKNOWN)[3] is False  # the count starts again
    assert len(env.unwrapped.trajectory) == 3
    assert isinstance(make_env(no_store), IOWarpEnv)  # no limit, no wrapper


def test_a_step_record_points_at_its_own_row_while_another_recorder_writes(session, tag):
    """Each StepRecord.step is the index record() returned, not the trajectory's length at the time."""
    trajectory = session.trajectory
    busy = False

    def monitor(step: int) -> None:  # a second recorder: annotates every step with a row of its own
        nonlocal busy
        if not busy:
            busy = True
            try:
                trajectory.record(agent="monitor", action="query", params=None, ok=True, reward=0.0)
            finally:
                busy = False

    trajectory.subscribe(monitor)
    records = [
        session.run(f"load file::data/sample_docs/notes.txt into {tag}"),
        session.put(tag, "x", b"1"),
        session.run("xyzzy plugh"),  # fails before routing
    ]
    df = trajectory.to_frame().set_index("step")
    assert [(df.loc[r.step, "agent"], df.loc[r.step, "action"]) for r in records] == [
        ("ingestor", "assimilate"), ("manual", "assimilate"), ("coordinator", "none")]
    assert (df["agent"] == "monitor").sum() == 3


def test_rewards_are_configurable_and_their_parts_are_in_info(store, tag, tmp_path, blob_factory):
    store.assimilate([blob_factory("a", b"aaa")], tag)
    env = IOWarpEnv(store, rewards={"retrieve_hit": 1.0, "failure": -2.0})
    _, reward, terminated, truncated, info = env.step({"action": "retrieve", "tag": tag, "blob_name": "a"})
    assert (reward, terminated, truncated) == (1.0, False, False)
    assert info["reward_parts"] == {"outcome": "hit", "base": 1.0}
    assert info["observation"].data == b"aaa"
    _, reward, *_ = env.step({"action": "retrieve", "tag": tag, "blob_name": "missing"})
    assert reward == -2.0


@pytest.mark.parametrize("src", ["file::../outside.txt", "file::/etc/hostname", "folder::..", "file::escape.txt"])
def test_traversal_attempts_are_refused_steps(session, tag, workdir, src):
    (workdir.parent / "outside.txt").write_text("secret")
    if src == "file::escape.txt":
        (workdir / "escape.txt").symlink_to(workdir.parent / "outside.txt")
    record = session.run(f"load {src} into {tag}")
    assert (record.ok, record.error, record.reward) == (False, "unsafe_path", -0.5)
    assert tag not in session.store.iowarp.list_tags("*")


def test_wrong_inputs_are_typed_errors_and_lose_nothing(session, tag, workdir):
    session.run(f"load file::data/sample_docs/notes.txt into {tag}")
    (workdir / "empty").mkdir()
    (workdir / "not.h5").write_text("plain text")
    cases = {
        f"load folder::empty into {tag}": "nothing_stored",
        f"load file::missing.csv into {tag}": "source_not_found",
        f"load hdf5::not.h5 into {tag}": "unsupported_source",
        f"destroy {tag}_never_existed": "tag_not_found",
        f"get ghost.txt from {tag}": "blob_not_found",
    }
    for command, code in cases.items():
        r = session.run(command)
        assert (r.ok, r.error, r.reward) == (False, code, -0.5), command
    assert session.run(f"get notes.txt from {tag}").value() == (workdir / "data/sample_docs/notes.txt").read_bytes()


def test_hdf5_round_trips_to_equal_arrays_with_bounded_memory(services, tag, tmp_path):
    """Nested groups, several dtypes and a 200 MB dataset; peak RSS measured in a child process."""
    path = tmp_path / "run42.h5"
    rng = np.random.default_rng(42)
    small = {
        "meta/ids": np.arange(100, dtype=np.int64),
        "meta/flags": rng.integers(0, 2, 50).astype(bool),
        "fields/deep/temps": rng.normal(size=(20, 30)).astype(np.float32),
        "fields/labels": np.array([b"alpha", b"beta", b"gamma"], dtype="S5"),
        "fields/complex": (rng.normal(size=8) + 1j * rng.normal(size=8)).astype(np.complex128),
    }
    with h5py.File(path, "w") as f:
        for name, data in small.items():
            f.create_dataset(name, data=data)
        big = f.create_dataset("fields/big", shape=(6250, 4000), dtype=np.float64)  # 200 MB
        for start in range(0, 6250, 625):
            big[start : start + 625] = np.arange(start * 4000, (start + 625) * 4000, dtype=np.float64).reshape(625, 4000)
    script = textwrap.dedent(f"""
        import json, resource, sys
        from pathlib import Path
        from agentfactory.config import Settings
        from agentfactory.env import IOWarpEnv
        from agentfactory.services import Services
        from agentfactory.sources import DataRoots
        svc = Services(Settings(home=Path({str(services.home)!r}), cache_mode="memcached"))
        env = IOWarpEnv(svc.open_store(), roots=DataRoots([Path({str(tmp_path)!r})], cwd=Path({str(tmp_path)!r})))
        Path('/proc/self/clear_refs').write_text('5')  # reset the RSS high-water mark
        before = int([l for l in open('/proc/self/status') if l.startswith('VmRSS')][0].split()[1])
        _, reward, *_ , info = env.step({{"action": "assimilate", "src": "hdf5::run42.h5", "dst": {tag!r}}})
        peak = int([l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1])
        print(json.dumps({{"reward": reward, "error": info["observation"].error, "growth_mb": (peak - before) / 1024}}))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    result = __import__("json").loads(out.stdout.strip().splitlines()[-1])
    assert result["reward"] == pytest.approx(0.10), result
    print(f"peak RSS growth while assimilating a {path.stat().st_size / 1e6:.0f} MB file: {result['growth_mb']:.0f} MB")
    assert result["growth_mb"] < 100, result  # well under the file size
    env = IOWarpEnv(services.open_store())
    for name, data in {**small, "fields/big": None}.items():
        _, reward, *_, info = env.step({"action": "retrieve", "tag": tag, "blob_name": name})
        value = info["observation"].value()
        expected = data if data is not None else np.arange(6250 * 4000, dtype=np.float64).reshape(6250, 4000)
        assert value.dtype == expected.dtype and value.shape == expected.shape, name
        np.testing.assert_array_equal(value, expected)


def test_python_values_round_trip_as_what_was_put(session, tag):
    array = np.arange(12, dtype=np.int16).reshape(3, 4)
    for blob, value in {"arr": array, "txt": "grüße", "raw": b"\x00\x01"}.items():
        record = session.put(tag, blob, value, source=blob)
        assert (record.ok, record.agent, record.action, record.reward) == (True, "manual", "assimilate", 0.10)
    got = session.run(f"get arr from {tag}").value()
    assert got.dtype == array.dtype and np.array_equal(got, array)
    assert session.run(f"get txt from {tag}").value() == "grüße"
    assert session.run(f"get raw from {tag}").value() == b"\x00\x01"
    with pytest.raises(TypeError, match="pickled|cannot store"):
        session.put(tag, "obj", object())


def test_a_repeated_action_dict_is_validated_once_and_never_stands_for_a_different_one():
    from agentfactory.core.actions import Action, parse_action
    from agentfactory.core.errors import InvalidAction

    retrieve = {"action": "retrieve", "params": {"tag": "t", "blob_name": "b"}}
    first = parse_action(retrieve)
    assert parse_action(dict(retrieve, params=dict(retrieve["params"]))) is first  # an equal dict: memoised
    assert parse_action({"action": "retrieve", "params": {"tag": "t", "blob_name": "c"}}).params.blob_name == "c"
    one = {"action": "query", "params": {"max_results": 1}}
    assert parse_action(one).params.max_results == 1
    truthy = {"action": "query", "params": {"max_results": True}}  # True == 1 and hashes alike: its own entry
    try:
        expected = Action.model_validate(truthy)
    except Exception as exc:
        with pytest.raises(InvalidAction):
            parse_action(truthy)
        assert "max_results" in str(exc)
    else:
        assert parse_action(truthy) == expected
    bad = {"action": "retrieve", "params": {"tag": "", "blob_name": "b"}}
    for _ in range(2):  # a rejected dict is rejected every time, never remembered
        with pytest.raises(InvalidAction):
            parse_action(bad)
