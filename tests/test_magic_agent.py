"""`%%agent` and `%agent` in a real IPython shell over the real services.

A user's story: load the extension, run the seed demo in a `%%agent` cell, bind its
steps to a variable, read them back as a DataFrame; make the usual mistakes and get
one-line errors; read what the step table says. The shell and one Session are shared
by the module (fixtures in conftest.py; the services are the suite's); each test works
in tags of its own.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest
from IPython.core.displaypub import CapturingDisplayPublisher
from IPython.core.error import UsageError
from traitlets import TraitError

from agentfactory.magics import AgentResult, RouteResult

pytestmark = pytest.mark.services

SEED_DEMO = """\
# the seed demo: ingest, look, read, evict, read again, delete, read once more
load file::sample_docs/api_reference.md as {tag}
ingest folder::./sample_docs into {tag}

query {tag}
get api_reference.md from {tag}
prune api_reference.md from {tag}
get api_reference.md from {tag}
get api_reference.md from {tag}
destroy {tag}
get api_reference.md from {tag}
"""
SEED_EXPECTED = [  # (agent, action, ok, cache_hit, reward)
    ("ingestor", "assimilate", True, None, 0.10),
    ("ingestor", "assimilate", True, None, 0.10),
    ("retriever", "query", True, None, 0.10),
    ("retriever", "retrieve", True, True, 0.30),
    ("retriever", "prune", True, None, 0.05),
    ("retriever", "retrieve", True, False, 0.20),
    ("retriever", "retrieve", True, True, 0.30),
    ("ingestor", "destroy", True, None, 0.05),
    ("retriever", "retrieve", False, None, -0.50),  # tag_not_found: the tag is gone, not just the blob
]


def rows_of(frame: pd.DataFrame) -> list[tuple]:
    return [
        (r.agent, r.action, bool(r.ok), None if pd.isna(r.cache_hit) else bool(r.cache_hit), round(r.reward, 2))
        for r in frame.itertuples()
    ]


def test_seed_demo_cell_binds_its_steps(ip, magics, tag):
    before = len(magics.session.trajectory)
    result = ip.run_cell_magic("agent", "-o steps", SEED_DEMO)

    assert isinstance(result, AgentResult)
    steps = ip.user_ns["steps"]
    assert isinstance(steps, pd.DataFrame)
    assert rows_of(steps) == SEED_EXPECTED
    assert steps["error"].iloc[-1] == "tag_not_found"
    assert steps["step"].tolist() == list(range(before, before + 9))
    assert steps["command"].iloc[0] == f"load file::sample_docs/api_reference.md as {tag}"  # {tag} was filled in
    assert result.frame.equals(steps)
    assert len(magics.session.trajectory) == before + 9

    text = repr(result)
    assert text.splitlines()[0] == "9 steps · 8 ok · 1 error · hits 2/3 · reward +0.70"
    assert re.search(r"retrieve\s+.*\s+error\s+-0\.50", text)
    assert f"tag '{tag}' does not exist" in text
    html = result._repr_html_()
    assert html.count("<tr") == 10 and "tag_not_found" in html and "+0.30" in html


def test_assignment_syntax_like_jupysql(ip, magics, tag):
    ip.run_cell_magic("agent", "", f"load file::sample_docs/notes.txt as {tag}")

    cell = ip.run_cell("found << %%agent\nquery {tag}\nget notes.txt from {tag}\n")
    cell.raise_error()
    found = ip.user_ns["found"]
    assert isinstance(found, pd.DataFrame)
    assert found["action"].tolist() == ["query", "retrieve"]
    assert found["cache_hit"].tolist()[1] is True

    cell = ip.run_cell("%%agent again <<\nget notes.txt from {tag}\n")  # jupysql's own spelling
    cell.raise_error()
    assert ip.user_ns["again"]["reward"].tolist() == [0.30]

    cell = ip.run_cell("one << %agent get notes.txt from {tag}\nsame = %agent get notes.txt from {tag}")
    cell.raise_error()
    assert ip.user_ns["one"]["action"].tolist() == ["retrieve"]
    assert isinstance(ip.user_ns["same"], AgentResult) and ip.user_ns["same"].value() == (
        b"prune keeps data in IOWarp; destroy removes it\n"
    )
    ip.run_line_magic("iowarp", f"destroy {tag}")


def test_display_limit_changes_what_is_shown(ip, magics, tag):
    cell = "\n".join([f"load file::sample_docs/notes.txt as {tag}"] + [f"get notes.txt from {tag}"] * 4)
    full = ip.run_cell_magic("agent", "", cell)
    assert len(re.findall(r"^\s+\d+\s+(ingestor|retriever)", repr(full), re.M)) == 5

    ip.run_line_magic("config", "AgentMagics.display_limit = 2")
    assert magics.display_limit == 2
    short = ip.run_cell_magic("agent", "", "\n".join([f"get notes.txt from {tag}"] * 5))
    shown = re.findall(r"^\s+\d+\s+retriever", repr(short), re.M)
    assert len(shown) == 2
    assert "… 3 more steps …" in repr(short) and "3 more steps" in short._repr_html_()
    assert len(short) == 5 and len(short.frame) == 5  # the data is all there
    ip.run_line_magic("iowarp", f"destroy {tag}")


def test_live_view_is_one_display_updated_per_step(ip, magics, tag, monkeypatch):
    captured = CapturingDisplayPublisher()
    monkeypatch.setattr(ip, "display_pub", captured)
    ip.run_line_magic("config", "AgentMagics.live = True")
    result = ip.run_cell_magic("agent", "", f"load file::sample_docs/notes.txt as {tag}\nquery {tag}\ndestroy {tag}")

    outs = captured.outputs
    ids = {o["transient"]["display_id"] for o in outs}
    assert len(ids) == 1, "one display, updated in place"
    assert [o["update"] for o in outs][0] is False and all(o["update"] for o in outs[1:])
    assert len(outs) >= 2
    assert outs[0]["data"] == {"text/plain": ""} and outs[-1]["data"] == {"text/plain": ""}
    assert any("running:" in o["data"].get("text/plain", "") or "3 steps" in o["data"].get("text/plain", "")
               for o in outs[1:-1])
    assert len(result) == 3


def test_unknown_backend_is_a_one_line_usage_error(ip, magics, tag, capsys):
    before = len(magics.session.trajectory)
    with pytest.raises(UsageError, match=r"unknown backend 'nonsense'") as err:
        ip.run_cell_magic("agent", "--backend nonsense", f"query {tag}")
    assert "\n" not in str(err.value)

    cell = ip.run_cell(f"%%agent --backend nonsense\nquery {tag}\n")  # what a notebook user sees
    assert isinstance(cell.error_in_exec, UsageError)
    shown = capsys.readouterr()
    lines = [ln for ln in (shown.out + shown.err).splitlines() if ln.strip()]
    assert lines == ["UsageError: unknown backend 'nonsense': use rule, claude, ollama"]
    assert len(magics.session.trajectory) == before

    with pytest.raises(UsageError, match="unknown backend 'bogus'"):
        ip.run_line_magic("agent", f"--backend bogus query {tag}")


def test_settings_are_checked_when_assigned(ip, magics, caplog):
    """A bad backend fails at the `%config` line (naming the allowed ones), not cells later."""
    with pytest.raises(TraitError, match=r"one of rule, claude, ollama .*not 'gpt'"):
        magics.backend = "gpt"
    with caplog.at_level("ERROR"):
        ip.run_line_magic("config", 'AgentMagics.backend = "gpt"')  # %config shows the error, keeps the value
    assert magics.backend == "rule"
    assert any("AgentMagics.backend must be one of rule, claude, ollama" in r.getMessage() for r in caplog.records)

    ip.run_line_magic("config", 'AgentMagics.backend = "ollama"')
    assert magics.backend == "ollama"
    magics.backend = ""  # the agent's own backend
    with pytest.raises(TraitError, match="display_limit must be 0"):
        magics.display_limit = -1
    with pytest.raises(TraitError, match="blueprint name"):
        magics.agent = " "
    assert (magics.display_limit, magics.agent) == (20, "coordinator_agent")


def test_library_errors_become_usage_errors(ip, magics, tag):
    with pytest.raises(UsageError, match=r"nosuch_agent") as err:
        ip.run_cell_magic("agent", "--agent nosuch_agent", f"query {tag}")
    assert "\n" not in str(err.value)
    with pytest.raises(UsageError, match="no command"):
        ip.run_cell_magic("agent", "", "\n# only a comment\n\n")
    with pytest.raises(UsageError, match="needs a command"):
        ip.run_line_magic("agent", "--dry-run")
    with pytest.raises(UsageError):
        ip.run_cell_magic("agent", "--no-such-option", f"query {tag}")
    with pytest.raises(UsageError, match="variable name"):
        ip.run_cell_magic("agent", "-o 1x", f"query {tag}")


def test_failed_step_is_a_row_not_an_error(ip, magics, tag):
    result = ip.run_line_magic("agent", f"get ghost.md from {tag}")
    assert len(result) == 1 and not result.ok
    step = result[0]
    assert (step.action, step.ok, step.reward, step.error) == ("retrieve", False, -0.50, "tag_not_found")

    nonsense = ip.run_line_magic("agent", "make me a sandwich")
    assert (nonsense[0].agent, nonsense[0].error, nonsense[0].reward) == ("coordinator", "parse_error", -0.50)
    assert "error" in repr(nonsense)


def test_interpolation_in_cells(ip, magics, tag):
    ip.user_ns["blob"] = "notes.txt"
    routed = ip.run_cell_magic("agent", "--dry-run", "get {blob} from {tag}\nget {nosuch_name} from {tag}")
    assert [r.params for r in routed] == [
        {"tag": tag, "blob_name": "notes.txt"},
        {"tag": tag, "blob_name": "{nosuch_name}"},
    ]
    line = ip.run_line_magic("agent", "-n get {blob} from {tag}")
    assert line[0].params == {"tag": tag, "blob_name": "notes.txt"}


def test_dry_run_executes_nothing(ip, magics, tag):
    trajectory = magics.session.trajectory
    before = len(trajectory)
    routed = ip.run_cell_magic(
        "agent", "--dry-run -o plan",
        f"load file::sample_docs/notes.txt as {tag}\ndestroy {tag}\nmake me a sandwich",
    )
    assert len(trajectory) == before
    assert isinstance(routed, RouteResult)
    assert [(r.agent, r.action) for r in routed] == [("ingestor", "assimilate"), ("ingestor", "destroy"), (None, None)]
    assert routed[2].error == "parse_error"
    assert ip.user_ns["plan"]["action"].tolist()[:2] == ["assimilate", "destroy"]
    assert "nothing executed" in repr(routed) and "parse_error" in routed._repr_html_()
    with pytest.raises(UsageError, match=f"tag '{tag}'"):  # nothing was stored
        ip.run_line_magic("iowarp", f"ls {tag}")


def test_single_agent_blueprint_and_backend_override(ip, magics, tag):
    result = ip.run_line_magic("agent", f"--agent iowarp_agent load file::sample_docs/notes.txt as {tag}")
    assert result[0].agent == "iowarp" and result.ok
    routed = ip.run_line_magic("agent", f"--agent iowarp_agent --backend rule -n destroy {tag}")
    assert routed[0].agent == "iowarp"
    ip.run_line_magic("iowarp", f"destroy {tag}")


# -- issue 9: a notebook that tells the truth ----------------------------------------------
def test_hints_reach_the_step_table_and_the_trajectory(ip, magics, tag):
    """Item 11: the library says what to do ("allowed roots: ...; add a root"); the user must see it."""
    result = ip.run_line_magic("agent", f"load file::/etc/hostname as {tag}")
    assert not result.ok and result[0].error == "unsafe_path"
    text, html = repr(result), result._repr_html_()
    for shown in (text, html):
        assert "allowed roots:" in shown and "add a root" in shown
    message = result.frame["message"].iloc[0]
    assert "outside" in message and "allowed roots:" in message
    ok = ip.run_line_magic("agent", f"load file::sample_docs/notes.txt as {tag}")
    assert ok.frame["message"].isna().all()  # nothing to say about a step that did what it said
    ip.run_line_magic("iowarp", f"destroy {tag}")


def test_a_value_too_large_for_the_cache_is_shown_as_bypassed_not_missed(ip, magics, tag):
    """Item 12: a read that can never be a hit is labelled as such in the table and the frame."""
    ip.user_ns["big"] = bytes(2 << 20)
    put = ip.run_line_magic("iowarp", f"put {tag} big.bin {{big}}")
    assert "larger than the cache's item limit" in repr(put)
    result = ip.run_cell_magic("agent", "", f"get big.bin from {tag}\nget big.bin from {tag}")
    assert result.ok and result.value() == bytes(2 << 20)
    frame = result.frame
    assert frame["tier"].tolist() == ["bypass", "bypass"]
    assert frame["message"].str.contains("IOWarp only").all()
    text = repr(result)
    assert text.splitlines()[0].endswith("hits 0/2 · 2 bypassed the cache · reward +0.40")
    rows = [line for line in text.splitlines() if "retrieve" in line]
    assert len(rows) == 2 and all(re.search(r"\bbypass\b", r) and not re.search(r"\bmiss\b", r) for r in rows)
    ip.run_line_magic("iowarp", f"destroy {tag}")


def test_missing_tags_long_names_and_long_ingests_read_well(ip, magics, tag, data_dir, monkeypatch, capsys):
    """Item 14: one error code for a missing tag, long names cut in messages, a bar for long ingests."""
    via_agent = ip.run_line_magic("agent", f"get notes.txt from {tag}")
    assert via_agent[0].error == "tag_not_found"
    with pytest.raises(UsageError, match=f"tag '{tag}' does not exist"):
        ip.run_line_magic("iowarp", f"get {tag} notes.txt")
    ip.run_line_magic("agent", f"load file::sample_docs/notes.txt as {tag}")
    assert ip.run_line_magic("agent", f"get ghost.md from {tag}")[0].error == "blob_not_found"

    ip.user_ns["long"] = "n" * 10_000
    result = ip.run_line_magic("agent", f"get {{long}} from {tag}")
    assert result[0].error == "blob_not_found"
    assert len(result[0].message) < 300 and "…" in result[0].message
    assert max(len(line) for line in repr(result).splitlines()) < 300
    with pytest.raises(UsageError) as err:
        ip.run_line_magic("iowarp", f"get {tag} {{long}}")
    assert len(str(err.value)) < 300

    monkeypatch.setattr("agentfactory.env.PROGRESS_AFTER_S", 0.0)  # the bar shows only after a second
    capsys.readouterr()
    ip.run_line_magic("agent", f"ingest folder::sample_docs into {tag}")
    shown = capsys.readouterr().err
    assert f"assimilate -> {tag}" in shown and "B/s" in shown
    magics.progress = False
    ip.run_line_magic("agent", f"ingest folder::sample_docs into {tag}")
    assert "assimilate ->" not in capsys.readouterr().err
    ip.run_line_magic("iowarp", f"destroy {tag}")


def test_a_failing_cell_leaves_no_running_table_and_targets_keep_the_file_name(ip, magics, tag, monkeypatch):
    """Item 20: the live view is cleared when a cell fails; a long target keeps the end of its path."""
    captured = CapturingDisplayPublisher()
    monkeypatch.setattr(ip, "display_pub", captured)
    ip.run_line_magic("config", "AgentMagics.live = True")
    real_run = magics.session.run
    calls = []

    def run_then_fail(command, **kw):
        calls.append(command)
        if len(calls) == 2:
            raise KeyboardInterrupt  # what Ctrl-C (or a dying service) does in the middle of a cell
        return real_run(command, **kw)

    monkeypatch.setattr(magics.session, "run", run_then_fail)
    with pytest.raises(KeyboardInterrupt):
        ip.run_cell_magic("agent", "", "\n".join([f"query {tag}*"] * 20))
    assert captured.outputs[-1]["data"] == {"text/plain": ""}, "a stale 'running' table stayed on screen"
    monkeypatch.undo()

    long_dir = "a_rather_long_folder_name_for_the_sample_documents"
    result = ip.run_line_magic("agent", f"load file::{long_dir}/api_reference.md as {tag}")
    row = next(line for line in repr(result).splitlines() if "assimilate" in line)
    assert "api_reference.md" in row and "…" in row  # the file name, not the folder's start, survives the cut
