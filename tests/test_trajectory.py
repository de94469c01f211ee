"""The trajectory recorder, as an experiment uses it: record steps, look at the frame, save, reload."""

from __future__ import annotations

import logging
import sys
import threading
import time as clock
from datetime import date, datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest

from agentfactory.trajectory import COLUMNS, DTYPES, Trajectory, decode_params, run_summary

T0 = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=timezone.utc)


def _experiment() -> Trajectory:
    """A small hand-built run: two episodes, both agents, hits, misses, a failure, extras."""
    t = Trajectory()
    t.new_episode()
    t.record(agent="ingestor", action="assimilate", params={"src": "file::données/é.csv", "dst": "实验"},
             ok=True, reward=0.1, tier="both", blobs=3, bytes=3000, latency_ms=12.5,
             command="ingest données into 实验", time=T0, extra={"backend": "rule", "tokens": 0})
    t.record(agent="retriever", action="retrieve", params={"tag": "实验", "blob_name": "a.csv"},
             ok=True, reward=0.3, cache_hit=True, tier="cache", blobs=1, bytes=1000, latency_ms=0.4,
             command="", time=T0 + timedelta(seconds=1), extra={"backend": "", "route_latency_ms": 0.25})
    t.record(agent="retriever", action="retrieve", params={"tag": "实验", "blob_name": "b.csv"},
             ok=True, reward=0.2, cache_hit=False, tier="iowarp", blobs=1, bytes=1000, latency_ms=3.0,
             time=T0 + timedelta(seconds=2))
    t.new_episode()
    t.record(agent="retriever", action="retrieve", params={"tag": "gone", "blob_name": 'x,"y"\nz'},
             ok=False, reward=-0.5, cache_hit=False, tier="iowarp", error="not_found",
             message="tag 'gone' does not exist (`list blobs in *` shows the tags there are)",
             command="get x from gone", time=T0 + timedelta(seconds=3), extra={"tokens": 42, "fallback": True})
    t.record(agent="retriever", action="query", params={"tag_pattern": "*"}, ok=True, reward=0.1,
             cache_hit=None, tier="cache", blobs=2, time=T0 + timedelta(seconds=4),
             extra={"route_latency_ms": 1.5, "fallback": False})
    return t


# -- the frame ----------------------------------------------------------------
def test_frame_has_the_documented_columns_and_dtypes():
    df = _experiment().to_frame()

    assert list(df.columns[: len(COLUMNS)]) == list(COLUMNS) == [
        "step", "episode", "time", "agent", "command", "action", "params", "ok", "reward",
        "cache_hit", "tier", "blobs", "bytes", "latency_ms", "error", "message",
    ]
    assert {name: str(dtype) for name, dtype in df.dtypes.items() if name in DTYPES} == {
        "step": "int64", "episode": "int64", "time": "datetime64[us, UTC]", "agent": "string",
        "command": "string", "action": "string", "params": "string", "ok": "bool",
        "reward": "float64", "cache_hit": "boolean", "tier": "string", "blobs": "int64",
        "bytes": "int64", "latency_ms": "float64", "error": "string", "message": "string",
    }
    assert df["time"].dt.tz == timezone.utc
    assert df["step"].tolist() == [0, 1, 2, 3, 4]
    assert isinstance(df.index, pd.RangeIndex)


def test_an_empty_trajectory_has_the_same_schema():
    df = Trajectory().to_frame()

    assert len(df) == 0
    assert list(df.columns) == list(COLUMNS)
    assert [str(d) for d in df.dtypes] == [str(DTYPES[c]) for c in COLUMNS]


def test_cache_hit_is_nullable_and_missing_strings_are_na_not_empty():
    df = _experiment().to_frame()

    assert df["cache_hit"].tolist()[1:] == [True, False, False, pd.NA]
    assert df["cache_hit"].isna().tolist() == [True, False, False, False, True]
    assert df["command"].iloc[1] == ""  # asked with an empty command
    assert df["command"].isna().tolist() == [False, False, True, False, True]
    assert df["error"].isna().tolist() == [True, True, True, False, True]
    assert df["tier"].tolist() == ["both", "cache", "iowarp", "iowarp", "cache"]


def test_extras_become_typed_columns_after_the_standard_ones_filled_with_na():
    df = _experiment().to_frame()

    assert list(df.columns[len(COLUMNS):]) == ["backend", "tokens", "route_latency_ms", "fallback"]
    assert str(df["backend"].dtype) == "string"
    assert str(df["tokens"].dtype) == "Int64"
    assert str(df["route_latency_ms"].dtype) == "float64"
    assert str(df["fallback"].dtype) == "boolean"
    assert df["backend"].tolist()[:2] == ["rule", ""]
    assert df["backend"].isna().tolist() == [False, False, True, True, True]
    assert df["tokens"].tolist() == [0, pd.NA, pd.NA, 42, pd.NA]
    assert np.isnan(df["route_latency_ms"].iloc[0]) and df["route_latency_ms"].iloc[4] == 1.5
    assert df["fallback"].tolist() == [pd.NA, pd.NA, pd.NA, True, False]


def test_an_int_extra_widens_to_float_but_other_kind_changes_are_refused_without_a_trace():
    t = Trajectory()
    t.record(agent="a", action="query", params=None, ok=True, reward=0.0, extra={"cost": 1})
    t.record(agent="a", action="query", params=None, ok=True, reward=0.0, extra={"cost": np.float32(2.5)})
    assert t.to_frame()["cost"].tolist() == [1.0, 2.5]

    with pytest.raises(TypeError, match="cost"):
        t.record(agent="a", action="query", params=None, ok=True, reward=0.0, extra={"cost": "cheap"})
    with pytest.raises(ValueError, match="standard column"):
        t.record(agent="a", action="query", params=None, ok=True, reward=0.0, extra={"reward": 1.0})
    with pytest.raises(TypeError, match="json"):
        t.record(agent="a", action="query", params=None, ok=True, reward=0.0, extra={"route": {"a": 1}})
    assert len(t) == 2 and len(t.to_frame()) == 2


def test_a_rejected_step_leaves_every_column_aligned():
    t = _experiment()
    with pytest.raises(TypeError):
        t.record(agent="a", action="query", params=None, ok=True, reward=0.0, blobs="three")
    with pytest.raises(ValueError, match="tier"):
        t.record(agent="a", action="query", params=None, ok=True, reward=0.0, tier="disk")
    with pytest.raises(TypeError, match="agent"):
        t.record(agent=None, action="query", params=None, ok=True, reward=0.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="timezone-aware"):
        t.record(agent="a", action="query", params=None, ok=True, reward=0.0, time=datetime(2024, 1, 1))

    assert len(t) == 5
    assert t.record(agent="a", action="query", params=None, ok=True, reward=0.0) == 5
    df = t.to_frame()
    assert df["step"].tolist() == [0, 1, 2, 3, 4, 5] and df["agent"].iloc[-1] == "a"


# -- time, params, episodes --------------------------------------------------------
def test_time_defaults_to_now_in_utc_and_explicit_times_are_converted_to_utc():
    t = Trajectory()
    before = pd.Timestamp.now(tz="UTC")
    t.record(agent="a", action="query", params=None, ok=True, reward=0.0)
    after = pd.Timestamp.now(tz="UTC")
    paris = timezone(timedelta(hours=2))
    t.record(agent="a", action="query", params=None, ok=True, reward=0.0,
             time=datetime(2024, 5, 1, 14, 0, 0, 7, tzinfo=paris))

    stamps = t.to_frame()["time"]
    assert before - pd.Timedelta("1ms") <= stamps.iloc[0] <= after + pd.Timedelta("1ms")
    assert stamps.iloc[1] == pd.Timestamp("2024-05-01 12:00:00.000007", tz="UTC")


def test_params_are_compact_sorted_json_with_unicode_kept_and_decode_back_to_dicts():
    t = _experiment()
    t.record(agent="a", action="prune", params={"tag": "t", "blob_names": ["b", "ä"], "n": np.int64(3)},
             ok=True, reward=0.05)
    t.record(agent="a", action="query", params=None, ok=True, reward=0.1)
    t.record(agent="a", action="query", params={"since": date(2024, 1, 2), "tags": {"b", "a"}}, ok=True, reward=0.1)
    df = t.to_frame()

    assert df["params"].iloc[7] == '{"since":"2024-01-02","tags":["a","b"]}'  # stable text for sets and dates
    assert df["params"].iloc[0] == '{"dst":"实验","src":"file::données/é.csv"}'
    assert df["params"].iloc[5] == '{"blob_names":["b","ä"],"n":3,"tag":"t"}'
    assert df["params"].iloc[6] == "{}"
    decoded = decode_params(df)
    assert decoded.iloc[3] == {"tag": "gone", "blob_name": 'x,"y"\nz'}
    assert decoded.iloc[6] == {}
    assert decode_params(df["params"].iloc[2:4]).index.tolist() == [2, 3]


def test_steps_count_across_episodes_and_new_episode_returns_the_next_number():
    t = Trajectory()
    assert t.episode == 0 and len(t) == 0
    assert t.record(agent="a", action="query", params=None, ok=True, reward=0.0) == 0
    assert t.new_episode() == 1 and t.episode == 1
    assert t.record(agent="a", action="query", params=None, ok=True, reward=0.0) == 1
    assert t.record(agent="a", action="query", params=None, ok=True, reward=0.0) == 2
    assert t.new_episode() == 2
    assert t.record(agent="a", action="query", params=None, ok=True, reward=0.0) == 3

    df = t.to_frame()
    assert len(t) == 4
    assert df["episode"].tolist() == [0, 1, 1, 2]
    assert df["step"].tolist() == [0, 1, 2, 3]


# -- summary ---------------------------------------------------------------------
def test_the_run_summary_counts_hits_only_where_the_cache_was_consulted():
    s = run_summary(_experiment().to_frame())

    assert (s["steps"], s["retrieves"], s["errors"]) == (5, 3, 1)
    assert s["hit_rate"] == pytest.approx(1 / 3)  # one hit, two misses; two steps had no lookup
    assert s["reward_total"] == pytest.approx(0.1 + 0.3 + 0.2 - 0.5 + 0.1)


def test_a_person_inspecting_the_store_does_not_move_the_hit_rate():
    t = Trajectory()
    t.record(agent="retriever", action="retrieve", params=None, ok=True, reward=0.2, cache_hit=False)
    t.record(agent="manual", action="retrieve", params=None, ok=True, reward=0.3, cache_hit=True)
    assert run_summary(t.to_frame())["hit_rate"] == 0.0
    assert run_summary(t.to_frame(), manual=True)["hit_rate"] == 0.5


def test_the_summary_of_an_empty_or_cache_free_trajectory_has_no_hit_rate():
    empty = run_summary(Trajectory().to_frame())
    assert (empty["steps"], empty["retrieves"], empty["reward_total"], empty["errors"]) == (0, 0, 0.0, 0)
    assert np.isnan(empty["hit_rate"])

    t = Trajectory()
    t.record(agent="ingestor", action="assimilate", params={"src": "mem::x", "dst": "t"}, ok=True, reward=0.1)
    assert np.isnan(run_summary(t.to_frame())["hit_rate"])


def test_analysis_reads_the_same_summary_not_a_copy_of_it():
    from agentfactory.analysis import retrieves as analysis_retrieves
    from agentfactory.analysis import run_summary as analysis_summary
    from agentfactory.trajectory import retrieves

    assert analysis_summary is run_summary and analysis_retrieves is retrieves


# -- persistence -------------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_save_then_load_gives_back_exactly_the_same_frame(tmp_path, suffix):
    t = _experiment()
    path = t.save(tmp_path / "runs" / f"run{suffix}")
    assert list(path.parent.iterdir()) == [path]  # written in place of a temporary file, none left over

    loaded = Trajectory.load(path)
    pd.testing.assert_frame_equal(loaded.to_frame(), t.to_frame(), check_exact=True)
    assert loaded.to_frame()["command"].iloc[1] == ""  # empty, not missing, after the trip
    assert pd.isna(loaded.to_frame()["command"].iloc[2])

    # The experiment goes on where it stopped.
    assert loaded.episode == 2
    assert loaded.record(agent="a", action="query", params=None, ok=True, reward=0.0) == 5
    assert loaded.to_frame()["episode"].iloc[-1] == 2


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_a_large_trajectory_with_awkward_values_round_trips(tmp_path, suffix):
    t = Trajectory()
    for i in range(2000):
        if i % 500 == 0:
            t.new_episode()
        t.record(agent=["ingestor", "retriever"][i % 2], action="retrieve",
                 params={"tag": f"t{i % 7}", "blob_name": "😀" if i % 5 == 0 else f"b{i}"},
                 ok=i % 11 != 0, reward=i / 3, cache_hit=[True, False, None][i % 3],
                 tier=[None, "cache", "iowarp", "both"][i % 4], blobs=i, bytes=2**40 + i, latency_ms=1 / (i + 1),
                 error=None if i % 11 else ("" if i % 2 else "not_found"),
                 command=[None, "", "get b", "NA", "null"][i % 5],
                 extra={"tokens": i} if i % 2 else {"backend": "None" if i % 4 else ""})
    path = t.save(tmp_path / f"big{suffix}")
    pd.testing.assert_frame_equal(Trajectory.load(path).to_frame(), t.to_frame(), check_exact=True)


def test_csv_keeps_empty_strings_apart_from_missing_values_and_stays_readable_by_pandas(tmp_path):
    path = _experiment().save(tmp_path / "run.csv")
    lines = path.read_text(encoding="utf-8").splitlines()

    assert lines[0].startswith("# agentfactory-trajectory ")
    # Row 1 has command "" (quoted); row 2 has no command (an empty, unquoted field).
    assert ',"retriever","","retrieve",' in lines[3]
    assert ',"retriever",,"retrieve",' in lines[4]
    plain = pd.read_csv(path, skiprows=1)
    assert plain["agent"].tolist()[:2] == ["ingestor", "retriever"] and len(plain) == 5


def test_loading_accepts_a_plain_csv_and_rejects_unknown_suffixes(tmp_path):
    df = _experiment().to_frame()[list(COLUMNS)]
    path = tmp_path / "plain.csv"
    df.to_csv(path, index=False)  # no header line, pandas' own quoting
    loaded = Trajectory.load(path).to_frame()
    assert loaded["params"].tolist() == df["params"].tolist()
    assert loaded.dtypes.equals(df.dtypes)

    with pytest.raises(ValueError, match="suffix"):
        _experiment().save(tmp_path / "run.json")


def test_from_frame_accepts_a_hand_built_frame_and_continues_after_its_last_step():
    hand = pd.DataFrame({
        "step": [10, 20],
        "episode": [3, 4],
        "time": ["2024-01-01T00:00:00+01:00", "2024-01-01T00:00:01Z"],  # strings, two offsets
        "agent": ["retriever", "retriever"],
        "action": ["retrieve", "query"],
        "params": [{"tag": "t", "blob_name": "b"}, None],
        "ok": [True, False],
        "reward": [0.3, -0.5],
        "note": ["first", None],
    }, index=[7, 9])
    t = Trajectory.from_frame(hand)
    df = t.to_frame()

    assert list(df.columns) == [*COLUMNS, "note"]
    assert df["params"].tolist() == ['{"blob_name":"b","tag":"t"}', "{}"]
    assert df["time"].tolist() == [pd.Timestamp("2023-12-31 23:00", tz="UTC"), pd.Timestamp("2024-01-01 00:00:01", tz="UTC")]
    assert df["blobs"].tolist() == [0, 0] and df["cache_hit"].isna().all() and df["note"].tolist() == ["first", pd.NA]
    assert t.episode == 4
    assert t.record(agent="a", action="query", params=None, ok=True, reward=0.0, extra={"note": "third"}) == 21

    with pytest.raises(ValueError, match="reward"):
        Trajectory.from_frame(hand.drop(columns="reward"))
    with pytest.raises(ValueError, match="naive"):
        Trajectory.from_frame(hand.assign(time=pd.to_datetime(["2024-01-01", "2024-01-02"])))


# -- caching, subscribers, threads -------------------------------------------------
def test_to_frame_is_built_once_per_change_and_editing_it_does_not_touch_the_record():
    t = _experiment()
    first = t.to_frame()
    second = t.to_frame()
    assert np.shares_memory(first["reward"].to_numpy(), second["reward"].to_numpy())  # cached, not rebuilt

    first.loc[0, "reward"] = 99.0
    first["mine"] = 1
    assert t.to_frame()["reward"].iloc[0] == 0.1 and "mine" not in t.to_frame()

    t.record(agent="a", action="query", params=None, ok=True, reward=0.0)
    third = t.to_frame()
    assert len(third) == 6 and not np.shares_memory(second["reward"].to_numpy(), third["reward"].to_numpy())


def test_subscribers_hear_every_step_until_they_unsubscribe(caplog):
    t = Trajectory()
    heard: list[tuple[int, int]] = []
    unsubscribe = t.subscribe(lambda step: heard.append((step, len(t.to_frame()))))

    def broken(step: int) -> None:
        raise RuntimeError("dashboard bug")

    unsubscribe_broken = t.subscribe(broken)
    with caplog.at_level(logging.ERROR, logger="agentfactory.trajectory"):
        t.record(agent="a", action="query", params=None, ok=True, reward=0.0)
        t.record(agent="a", action="query", params=None, ok=True, reward=0.0)
    assert heard == [(0, 1), (1, 2)]  # the step is already in the frame when the callback runs
    assert "dashboard bug" in caplog.text

    unsubscribe()
    unsubscribe()  # harmless the second time
    unsubscribe_broken()
    t.record(agent="a", action="query", params=None, ok=True, reward=0.0)
    assert heard == [(0, 1), (1, 2)] and len(t) == 3


def test_recording_from_several_threads_loses_nothing():
    t = Trajectory()

    def worker(n: int) -> None:
        for i in range(2000):
            t.record(agent=f"agent{n}", action="query", params={"i": i}, ok=True, reward=1.0,
                     extra={"worker": n} if i % 2 else None)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads often, so a missing lock shows as misaligned rows
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)

    df = t.to_frame()
    assert len(df) == 8000 and sorted(df["step"]) == list(range(8000))
    assert df.groupby("agent")["reward"].sum().tolist() == [2000.0] * 4
    assert (df["worker"].notna() == (decode_params(df).map(lambda p: p["i"] % 2 == 1))).all()
    assert (df["worker"].dropna().astype(int) == df.loc[df["worker"].notna(), "agent"].str[-1].astype(int)).all()


def test_recording_100k_steps_and_building_the_frame_is_fast(capsys):
    n = 100_000
    params = [{"tag": f"t{i % 50}", "blob_name": f"b{i}.bin"} for i in range(n)]
    t = Trajectory()
    # The bound is on CPU time: this test shares a small machine with other
    # work, and a descheduled process is not a slow recorder. A frame-copying
    # recorder would still blow far past it (quadratic in the steps).
    wall, cpu = clock.perf_counter(), clock.process_time()
    for i in range(n):
        t.record(agent="retriever", action="retrieve", params=params[i], ok=True, reward=0.3,
                 cache_hit=i % 3 == 0, tier="cache", blobs=1, bytes=1024, latency_ms=0.5, command="get")
    wall_recorded, cpu_recorded = clock.perf_counter(), clock.process_time()
    df = t.to_frame()
    wall_built, cpu_built = clock.perf_counter(), clock.process_time()
    t.to_frame()
    cpu_cached = clock.process_time()

    with capsys.disabled():
        print(f"\n100k steps: record {cpu_recorded - cpu:.3f} s CPU ({(cpu_recorded - cpu) / n * 1e6:.2f} µs/step), "
              f"to_frame {cpu_built - cpu_recorded:.3f} s CPU, total {cpu_built - cpu:.3f} s CPU "
              f"/ {wall_built - wall:.3f} s wall; cached to_frame {(cpu_cached - cpu_built) * 1e6:.0f} µs")
    assert len(df) == n and df["cache_hit"].sum() == (n + 2) // 3
    assert cpu_built - cpu < 3.0
    assert cpu_cached - cpu_built < 0.05
