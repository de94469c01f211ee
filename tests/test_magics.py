"""The notebook magics in a real IPython shell over the real services.

A user's story: load the extension, run the seed demo in a `%%agent` cell,
bind its steps to a variable, read them back as a DataFrame; put and get
objects with `%iowarp`; make the usual mistakes and get one-line errors.
The shell and one Session are shared by the module (the services are the
suite's); each test works in tags of its own.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from IPython.core.displaypub import CapturingDisplayPublisher
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from traitlets import TraitError
from traitlets.config import Config

from agentfactory.magics import AgentMagics, AgentResult, RouteResult, interpolate
from agentfactory.magics.kernel import say
from agentfactory.magics.syntax import assignment_transform, split_options
from agentfactory.session import Session
from agentfactory.sources import DataRoots

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


@pytest.fixture(scope="module")
def ip(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InteractiveShell]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("IPYTHONDIR", str(tmp_path_factory.mktemp("ipython")))
        cfg = Config()
        cfg.HistoryManager.hist_file = ":memory:"  # no sqlite file per shell (jupysql's "too many open files")
        shell = InteractiveShell.instance(config=cfg)
        yield shell
        shell.extension_manager.unload_extension("agentfactory")
        InteractiveShell.clear_instance()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("magics_data")
    docs = root / "sample_docs"
    docs.mkdir()
    (docs / "api_reference.md").write_text("# API reference\n\nretrieve(tag, blob) -> bytes\n")
    (docs / "notes.txt").write_text("prune keeps data in IOWarp; destroy removes it\n")
    return root


@pytest.fixture(scope="module")
def shared_session(services, data_dir) -> Iterator[Session]:
    session = Session(services=services, settings=services.settings, roots=DataRoots([data_dir], cwd=data_dir))
    yield session
    session.close()


@pytest.fixture
def magics(ip: InteractiveShell, shared_session: Session) -> Iterator[AgentMagics]:
    if "AgentMagics" not in ip.magics_manager.registry:
        ip.extension_manager.load_extension("agentfactory")
    m = ip.magics_manager.registry["AgentMagics"]
    if not m.has_session or m.session is not shared_session:
        m.attach(shared_session)
    yield m
    for name, trait in m.traits(config=True).items():
        setattr(m, name, trait.default())


@pytest.fixture
def tag(ip: InteractiveShell) -> str:
    name = f"t_{uuid.uuid4().hex[:10]}"
    ip.user_ns["tag"] = name
    return name


def rows_of(frame: pd.DataFrame) -> list[tuple]:
    return [
        (r.agent, r.action, bool(r.ok), None if pd.isna(r.cache_hit) else bool(r.cache_hit), round(r.reward, 2))
        for r in frame.itertuples()
    ]


# -- %%agent ------------------------------------------------------------------------------
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


def test_transformer_leaves_python_and_other_magics_alone():
    assert assignment_transform(["x << 2\n"]) == ["x << 2\n"]
    assert assignment_transform(["%%bash\n", "y << %agent q\n"]) == ["%%bash\n", "y << %agent q\n"]
    assert assignment_transform(["r << %%agent -n\n", "q\n"]) == ["%%agent r << -n\n", "q\n"]
    assert assignment_transform(["  r << %agent query x\n"]) == ["  %agent r << query x\n"]


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


def test_interpolation_fills_known_names_only():
    ns = {"tag": "docs", "n": 3}
    assert interpolate("get {n}.md from {tag}", ns) == "get 3.md from docs"
    assert interpolate("get {nosuch} from {tag}", ns) == "get {nosuch} from docs"
    assert interpolate("odd {a b} {} {tag", ns) == "odd {a b} {} {tag"
    assert interpolate("literal {{tag}}", ns) == "literal {tag}"
    assert interpolate("{x[0]} {tag.upper}", ns) == "{x[0]} {tag.upper}"


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


# -- %iowarp ------------------------------------------------------------------------------
def test_put_get_round_trips_bytes_text_and_arrays(ip, magics, tag):
    payload = bytes(range(256)) * 3
    array = np.arange(24, dtype=">i4").reshape(2, 3, 4)
    records = np.array([(1, 2.5), (3, -1.0)], dtype=[("id", "<u2"), ("x", "<f8")])
    ip.user_ns.update(payload=payload, array=array, records=records, text="héllo {not a var}")

    put = ip.run_line_magic("iowarp", f"put {tag} raw.bin {{payload}}")
    assert isinstance(put, AgentResult) and put.ok and put[0].agent == "manual"
    ip.run_line_magic("iowarp", f"put {tag} grid {{array}}")
    ip.run_line_magic("iowarp", f"put {tag} records {{records}}")
    ip.run_line_magic("iowarp", f"put {tag} note.txt {{text}}")
    ip.run_line_magic("iowarp", f"put {tag} literal.txt 'two  spaces' and more")

    assert ip.run_line_magic("iowarp", f"get {tag} raw.bin") == payload
    got = ip.run_line_magic("iowarp", f"get {tag} grid")
    assert isinstance(got, np.ndarray) and got.dtype == array.dtype and got.shape == (2, 3, 4)
    np.testing.assert_array_equal(got, array)
    np.testing.assert_array_equal(ip.run_line_magic("iowarp", f"get {tag} records"), records)
    assert ip.run_line_magic("iowarp", f"get {tag} note.txt") == "héllo {not a var}"
    assert ip.run_line_magic("iowarp", f"get {tag} literal.txt") == "two  spaces and more"

    # the agent path reads the same bytes the magic put
    read = ip.run_line_magic("agent", f"get raw.bin from {tag}")
    assert read[0].cache_hit is True and read.value() == payload

    history = ip.run_line_magic("iowarp", "history 11")
    assert history["agent"].tolist() == ["manual"] * 10 + ["retriever"]
    assert history["action"].tolist() == ["assimilate"] * 5 + ["retrieve"] * 6
    assert history["bytes"].iloc[0] == len(payload)
    ip.run_line_magic("iowarp", f"destroy {tag}")


def test_put_with_default_tag_and_bad_values(ip, magics, tag):
    ip.run_line_magic("config", f'AgentMagics.default_tag = "{tag}"')
    ip.user_ns["blob_bytes"] = b"\x00\x01"
    ip.run_line_magic("iowarp", "put b.bin {blob_bytes}")
    assert ip.run_line_magic("iowarp", "get b.bin") == b"\x00\x01"
    ip.user_ns["objs"] = np.array([object(), 1], dtype=object)
    with pytest.raises(UsageError, match="nothing is pickled"):
        ip.run_line_magic("iowarp", f"put {tag} o {{objs}}")
    ip.user_ns["a_dict"] = {"a": 1}
    with pytest.raises(UsageError, match="cannot store a dict"):
        ip.run_line_magic("iowarp", f"put {tag} d {{a_dict}}")
    with pytest.raises(UsageError, match="no variable 'undefined_thing'"):
        ip.run_line_magic("iowarp", f"put {tag} u {{undefined_thing}}")
    ip.run_line_magic("iowarp", f"destroy {tag}")


def test_views_are_dataframes(ip, magics, tag):
    ip.run_cell_magic("agent", "", f"ingest folder::sample_docs into {tag}")
    listing = ip.run_line_magic("iowarp", f"ls {tag}")
    assert list(listing.columns) == ["tag", "blob", "cached"]
    assert sorted(listing["blob"]) == ["api_reference.md", "notes.txt"] and listing["cached"].all()

    pruned = ip.run_line_magic("iowarp", f"prune {tag} notes.txt")
    assert pruned.ok and pruned[0].reward == 0.05 and pruned[0].agent == "manual"
    listing = ip.run_line_magic("iowarp", f"ls {tag}").set_index("blob")
    assert not listing.loc["notes.txt", "cached"] and listing.loc["api_reference.md", "cached"]

    tags = ip.run_line_magic("iowarp", f"tags {tag}")
    assert tags.to_dict("records") == [{"tag": tag, "iowarp_blobs": 2, "cached_blobs": 1}]

    stats = ip.run_line_magic("iowarp", "stats")
    assert isinstance(stats, pd.DataFrame)
    assert stats.loc[("cache", "kind"), "value"] == "memcached"
    assert stats.loc[("session", "steps"), "value"] == len(magics.session.trajectory)

    history = ip.run_line_magic("iowarp", "history")
    assert isinstance(history, pd.DataFrame) and len(history) == len(magics.session.trajectory)
    assert history["action"].iloc[-1] == "list_blobs"  # the views themselves are manual steps

    services = ip.run_line_magic("iowarp", "services")
    assert list(services["name"]) == ["memcached", "iowarp", "bridge"]
    assert set(services["state"]) == {"running"} and not services["started_here"].any()

    destroyed = ip.run_line_magic("iowarp", f"destroy {tag}")
    assert destroyed.ok and destroyed.frame["action"].tolist() == ["destroy"]
    with pytest.raises(UsageError, match=r"does not exist") as err:
        ip.run_line_magic("iowarp", f"get {tag} notes.txt")
    assert "\n" not in str(err.value)
    again = ip.run_line_magic("iowarp", f"destroy {tag}")  # a failed direct step is a row
    assert not again.ok and again[0].error == "tag_not_found" and again[0].reward == -0.50


def test_iowarp_usage_errors(ip, magics):
    for line, message in [
        ("", "needs a subcommand"),
        ("frobnicate", "unknown %iowarp subcommand 'frobnicate'"),
        ("tag", "unknown %iowarp subcommand 'tag' (did you mean 'tags'?)"),
        ("stats extra", r"unrecognized arguments: extra"),
        ("ls --bogus-flag", r"usage: %iowarp ls \[PATTERN\]"),
        ("get t b c", r"usage: %iowarp get TAG BLOB"),
        ("services down --forse", r"unrecognized arguments: --forse"),
        ("get onlyone", r"usage: %iowarp get TAG BLOB"),
        ("put t", r"usage: %iowarp put"),
        ("prune t", r"usage: %iowarp prune"),
        ("destroy", r"usage: %iowarp destroy"),
        ("history many", r"usage: %iowarp history"),
        ("services sideways", r"usage: %iowarp services"),
        ("get 'unclosed", "No closing quotation"),
    ]:
        with pytest.raises(UsageError, match=re.escape(message) if "usage" not in message else message):
            ip.run_line_magic("iowarp", line)
    assert "put TAG BLOB" in ip.run_line_magic("iowarp", "help")


def test_a_bad_iowarp_subcommand_or_flag_is_a_usage_error_with_usage_never_an_exit(ip, magics, capsys):
    """argparse would print and `sys.exit(2)`: in a kernel that is a SystemExit traceback."""
    for line in ["frobnicate", "services sideways", "history --last 3", "destroy"]:
        cell = ip.run_cell(f"%iowarp {line}")
        assert isinstance(cell.error_in_exec, UsageError), (line, cell.error_in_exec)
        shown = capsys.readouterr()
        text = shown.out + shown.err
        assert "Traceback" not in text and "SystemExit" not in text
        assert re.search(r"^usage: %iowarp", text, re.M), text
    shown = ip.run_line_magic("iowarp", "services -h")  # help is an answer, not an exit
    assert "usage: %iowarp services [status|up|down [--force]]" in shown and "--force" in shown
    assert ip.run_line_magic("iowarp", "help prune").startswith("usage: %iowarp prune TAG BLOB...")


def test_reset_starts_a_new_episode(ip, magics, tag):
    episode = magics.session.trajectory.episode
    note = ip.run_line_magic("iowarp", "reset")
    assert note == f"episode {episode + 1}: new steps are recorded in episode {episode + 1}"
    result = ip.run_line_magic("agent", f"get x from {tag}")
    assert result.frame["episode"].tolist() == [episode + 1]


def test_services_down_never_stops_services_it_did_not_start(ip, magics, services, tag):
    frame = ip.run_line_magic("iowarp", "services down")
    assert set(frame["state"]) == {"running"} and not frame["started_here"].any()
    assert {s.state for s in services.status()} == {"running"}
    # the session lives on: its store reopens on the next step
    assert ip.run_line_magic("agent", f"load file::sample_docs/notes.txt as {tag}").ok
    ip.run_line_magic("iowarp", f"destroy {tag}")


def test_unload_releases_the_session(ip, magics, services, data_dir, tag):
    own = Session(services=services, settings=services.settings, roots=DataRoots([data_dir], cwd=data_dir))
    magics.attach(own, own=True)
    assert ip.run_line_magic("agent", f"load file::sample_docs/notes.txt as {tag}").ok
    store = own.store

    ip.extension_manager.unload_extension("agentfactory")
    assert ip.find_line_magic("agent") is None and ip.find_cell_magic("agent") is None
    assert ip.find_line_magic("iowarp") is None
    assert "AgentMagics" not in ip.magics_manager.registry
    assert magics not in ip.configurables and not magics.has_session
    assert assignment_transform not in ip.input_transformers_cleanup
    assert own.store is not store, "unloading closed the session's store"
    own.store.destroy([tag])
    own.close()

    ip.extension_manager.load_extension("agentfactory")
    assert ip.find_cell_magic("agent") is not None


def test_split_options_keeps_the_command_verbatim():
    assert split_options('--backend rule -n get "a  b" from t') == ("--backend rule -n ", 'get "a  b" from t')
    assert split_options("--agent=iowarp_agent query x") == ("--agent=iowarp_agent ", "query x")
    assert split_options("-- -odd command") == ("", "-odd command")
    assert split_options("-o out") == ("-o out", "")


def test_single_agent_blueprint_and_backend_override(ip, magics, tag):
    result = ip.run_line_magic("agent", f"--agent iowarp_agent load file::sample_docs/notes.txt as {tag}")
    assert result[0].agent == "iowarp" and result.ok
    routed = ip.run_line_magic("agent", f"--agent iowarp_agent --backend rule -n destroy {tag}")
    assert routed[0].agent == "iowarp"
    ip.run_line_magic("iowarp", f"destroy {tag}")


def test_dashboard_follows_the_session(ip, magics, tag):
    ip.run_line_magic("agent", f"load file::sample_docs/notes.txt as {tag}")
    board = ip.run_line_magic("iowarp", "dashboard")
    try:
        assert board.live and len(board.frame) == len(magics.session.trajectory)
        ip.run_line_magic("agent", f"get notes.txt from {tag}")
        board.refresh()  # the live redraw is throttled; its timing is the dashboard's own business
        assert board.frame["action"].iloc[-1] == "retrieve"
        assert len(board.frame) == len(magics.session.trajectory)
    finally:
        board.close()
        ip.run_line_magic("iowarp", f"destroy {tag}")


def test_exit_hook_stops_only_the_services_it_saw_start():
    from agentfactory.magics.kernel import _stop_at_exit
    from agentfactory.services import ProcInfo, ServicesState

    class FakeServices:
        def __init__(self, state):
            self.state, self.downs = state, 0

        def load_state(self):
            return self.state

        def down(self):
            self.downs += 1

    started = ServicesState(cache_mode="memcached", iowarp=ProcInfo(pid=11, port=2000))
    same = FakeServices(started.model_copy(deep=True))
    _stop_at_exit(same, started)
    assert same.downs == 1
    replaced = FakeServices(ServicesState(cache_mode="memcached", iowarp=ProcInfo(pid=12, port=2000)))
    _stop_at_exit(replaced, started)  # someone restarted them since: not ours any more
    gone = FakeServices(None)
    _stop_at_exit(gone, started)
    assert replaced.downs == 0 and gone.downs == 0


# -- issue 9: a notebook that tells the truth ----------------------------------------------
def test_live_dashboard_never_disturbs_the_cells_reads(ip, magics, tag):
    """Item 16: a dashboard redrawing every 50 ms while a cell reads 1,000 cached blobs."""
    ip.user_ns["small"] = b"x" * 64
    for i in range(20):
        ip.run_line_magic("iowarp", f"put {tag} b{i} {{small}}")
    board = ip.run_line_magic("iowarp", "dashboard")
    board.refresh_s = 0.05
    try:
        values, errors = [], []
        n, started = 0, time.monotonic()
        # at least 1,000 reads, and on until the dashboard has redrawn a few times meanwhile
        while (n < 1000 or board.redraws < 5) and time.monotonic() - started < 120:
            n += 1
            try:
                values.append(ip.run_line_magic("iowarp", f"get {tag} b{n % 20}"))
            except Exception as exc:  # what the user saw before the fix: KeyError, AttributeError
                errors.append(f"{type(exc).__name__}: {exc}")
        assert board.wait(120)
        assert errors == []
        frame = magics.session.trajectory.to_frame().tail(n)
        assert frame["cache_hit"].sum() == n, frame["cache_hit"].value_counts().to_dict()
        assert values == [b"x" * 64] * n
        assert board.redraws >= 5, "the dashboard did not refresh while the cell ran"
    finally:
        board.close()
        ip.run_line_magic("iowarp", f"destroy {tag}")


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


def test_inspecting_the_store_is_recorded_but_never_moves_the_hit_rate(ip, magics, tag):
    """Item 13: `%iowarp get/ls/tags` are all recorded (agent manual); hit rates leave them out."""
    from agentfactory.analysis import hit_rate, run_summary

    ip.run_line_magic("agent", f"load file::sample_docs/notes.txt as {tag}")
    ip.run_line_magic("iowarp", f"prune {tag} notes.txt")
    start = len(magics.session.trajectory)
    ip.run_line_magic("agent", f"get notes.txt from {tag}")  # the agent's only read: a miss
    for _ in range(5):
        ip.run_line_magic("iowarp", f"get {tag} notes.txt")  # a person looking: hits
    ip.run_line_magic("iowarp", f"ls {tag}")
    tags = ip.run_line_magic("iowarp", f"tags {tag}")
    assert tags.to_dict("records") == [{"tag": tag, "iowarp_blobs": 1, "cached_blobs": 1}]

    frame = magics.session.trajectory.to_frame().iloc[start:]
    assert frame["agent"].tolist() == ["retriever"] + ["manual"] * 7
    assert frame["action"].tolist() == ["retrieve"] * 6 + ["list_blobs"] * 2
    assert run_summary(frame)["hit_rate"] == 0.0 and len(hit_rate(frame)) == 1
    assert run_summary(frame, manual=True)["hit_rate"] == pytest.approx(5 / 6)

    ip.run_line_magic("iowarp", f"destroy {tag}")
    with pytest.raises(UsageError, match=f"tag '{tag}' does not exist"):  # item 20: not an empty table
        ip.run_line_magic("iowarp", f"tags {tag}")
    assert "no tag matches" in ip.run_line_magic("iowarp", f"tags {tag}*")


def test_cache_errors_name_the_tag_and_blob_never_a_raw_key(ip, magics, tag):
    """Item 19 (and 16's raw KeyError): a reply that answers another request, as a shared socket gives."""
    ip.user_ns.update(one=b"first blob", two=b"second blob")
    ip.run_line_magic("iowarp", f"put {tag} b1 {{one}}")
    ip.run_line_magic("iowarp", f"put {tag} b2 {{two}}")
    cache = magics.session.store.cache
    client = cache.backend._client
    client.get("warm-up")  # connected
    client.sock.sendall(f"get {cache.key(tag, 'b2')}\r\n".encode())  # its reply will arrive first

    assert ip.run_line_magic("iowarp", f"get {tag} b1") == b"first blob"  # was: KeyError: b'af:d:...'
    stats = ip.run_line_magic("iowarp", "stats")
    error = str(stats.loc[("cache", "last_error"), "value"]) if ("cache", "last_error") in stats.index else (
        cache.last_error)
    assert f"blob 'b2' of tag '{tag}'" in error and "af:d:" not in error
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


def test_service_notes_are_displayed_not_written_to_stderr(ip, magics, capsys, caplog):
    """Item 17: information is not an error box; a dashboard's trouble stays in the dashboard."""
    captured = CapturingDisplayPublisher()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ip, "display_pub", captured)
        say("memcached running on 127.0.0.1:11211")  # what the magics show for the session's notes
    assert capsys.readouterr().err == ""
    assert captured.outputs[-1]["data"]["text/plain"] == "agentfactory: memcached running on 127.0.0.1:11211"

    from agentfactory.analysis import dashboard

    class Down:
        trajectory = magics.session.trajectory

        def snapshot(self):
            raise ConnectionError("IOWarp is down")

    with caplog.at_level("INFO"):
        board = dashboard(Down(), refresh_s=0.05)
    board.close()
    assert "IOWarp is down" in board.header.value
    assert not [r for r in caplog.records if r.levelno >= 20 and "dashboard" in r.name]


def test_services_up_restarts_what_is_down_and_the_session_follows(ip, magics, data_dir, tmp_path, tag):
    """`%iowarp services up` after memcached died: restarted (like the CLI), counted as this kernel's, hits again.

    Before: `services up` only checked the services once per kernel, so a dead
    memcached stayed dead and every read was an IOWarp read.
    """
    import psutil

    from agentfactory.config import Settings
    from agentfactory.services import Services

    svc = Services(Settings(home=tmp_path / "own_home", cache_mode="memcached"))
    own = Session(services=svc, settings=svc.settings, roots=DataRoots([data_dir], cwd=data_dir))
    magics.attach(own)
    try:
        frame = ip.run_line_magic("iowarp", "services up")
        assert set(frame["state"]) == {"running"} and frame["started_here"].all()
        assert ip.run_line_magic("agent", f"load file::sample_docs/notes.txt as {tag}").ok
        old = svc.load_state().memcached.pid
        victim = psutil.Process(old)
        victim.kill()
        victim.wait(10)

        frame = ip.run_line_magic("iowarp", "services up").set_index("name")
        assert frame.loc["memcached", "state"] == "running" and frame.loc["memcached", "started_here"]
        assert svc.load_state().memcached.pid != old
        steps = [ip.run_line_magic("agent", f"get notes.txt from {tag}") for _ in range(2)]
        assert [s.frame["cache_hit"].iloc[0] for s in steps] == [False, True]  # the new memcached is used
    finally:
        magics.close()
        own.close()
        svc.down()
