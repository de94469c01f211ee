"""`agentfactory policies` and the lab behind it, as a researcher uses them."""

from __future__ import annotations

import json
from types import SimpleNamespace

import matplotlib
import pandas as pd
import pytest

matplotlib.use("Agg")

from agentfactory.analysis import plot_learning_curve, plot_miss_ratio_curve  # noqa: E402
from agentfactory.cli import main  # noqa: E402
from agentfactory.policies.lab import compare, learning_curves, nested, summarize  # noqa: E402
from agentfactory.workloads import make_workload  # noqa: E402


@pytest.fixture
def _cli(capsys):
    """Run `agentfactory policies ARGS` in this process, as the console script does."""

    def run(*args: str) -> SimpleNamespace:
        code = main(["policies", *args])
        out = capsys.readouterr()
        return SimpleNamespace(returncode=code, stdout=out.out, stderr=out.err)

    return run


def test_json_is_one_object_keyed_workload_fraction_policy(_cli) -> None:
    result = _cli("--workload", "tenants,shifting", "--sizes", "0.05,0.1", "--seeds", "2", "--requests", "5000",
                  "--policies", "lru,s3fifo,belady,learned", "--json", "--no-progress")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)  # exactly one JSON document
    assert list(data) == ["tenants", "shifting"]
    assert list(data["tenants"]) == ["0.05", "0.1"]
    row = data["tenants"]["0.05"]
    assert list(row) == ["lru", "s3fifo", "belady", "learned"]
    assert all(0 < v < 1 for v in row.values())
    assert row["belady"] <= min(row.values())
    assert data["tenants"]["0.1"]["lru"] < data["tenants"]["0.05"]["lru"]  # a bigger cache misses less


def test_a_trace_is_keyed_by_its_stem_and_json_detail_has_cis(_cli, tmp_path) -> None:
    trace = tmp_path / "storage_day1.csv"
    stream = make_workload("zipf0.8", 3, requests=4000)
    pd.DataFrame({"key": [f"/vol/{k}" for k in stream.keys], "size": 4096}).to_csv(trace, index=False)
    result = _cli("--trace", str(trace), "--sizes", "0.1", "--policies", "lru,arc,learned", "--json-detail",
                  "--no-progress")
    assert result.returncode == 0, result.stderr
    detail = json.loads(result.stdout)["storage_day1"]["0.1"]
    assert set(detail) == {"lru", "arc", "learned"}
    assert detail["lru"]["seeds"] == 1 and detail["lru"]["cpu_us_per_request"] > 0


def test_the_table_shows_every_policy_and_requests_per_second(_cli) -> None:
    result = _cli("--workload", "zipf0.8", "--sizes", "0.05", "--seeds", "2", "--requests", "3000",
                  "--policies", "lru,wtinylfu,learned")
    assert result.returncode == 0, result.stderr
    assert "±" in result.stdout and "requests/s" in result.stdout
    assert "stream" in result.stderr  # the progress bar


@pytest.mark.parametrize("args, message", [
    (["--workload", "zipf9"], "unknown workload 'zipf9'"),
    (["--workload", "tenants", "--policies", "lru,bogus"], "unknown policy: bogus"),
    (["--workload", "tenants", "--sizes", "0.05,12"], "not a fraction"),
    (["--trace", "/nonexistent/t.csv"], "trace file not found"),
    ([], "nothing to compare"),
])
def test_bad_arguments_are_one_line_errors(_cli, args: list[str], message: str) -> None:
    result = _cli(*args, "--no-progress")
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


def test_plots_draw_every_policy_and_belady_dashed(tmp_path) -> None:
    results = compare(["shifting"], fractions=["0.05", "0.1"], seeds=2, requests=4000,
                      policies=["lru", "arc", "belady", "learned"])
    ax = plot_miss_ratio_curve(results)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["lru", "arc", "belady", "learned"]
    belady = next(c for c in ax.containers if c.get_label() == "belady")
    assert belady.lines[0].get_linestyle() == "--"
    ax.figure.savefig(tmp_path / "mrc.png")
    curves = learning_curves(make_workload("shifting", 0, requests=5000), "0.05", ["learned", "lru"], window=500)
    assert set(curves["policy"]) == {"learned", "lru"} and curves["miss_ratio"].between(0, 1).all()
    ax = plot_learning_curve(curves)
    assert len(ax.get_lines()) == 2
    assert (tmp_path / "mrc.png").stat().st_size > 10_000


def test_summary_and_nested_agree() -> None:
    results = compare(["zipf0.8"], fractions=["0.05"], seeds=3, requests=3000, policies=["lru", "fifo"])
    summary = summarize(results)
    assert summary["seeds"].tolist() == [3, 3]
    assert (summary["miss_ratio_ci95"] > 0).all()
    flat = nested(summary)
    assert flat["zipf0.8"]["0.05"]["lru"] == pytest.approx(results.query("policy == 'lru'")["miss_ratio"].mean())
