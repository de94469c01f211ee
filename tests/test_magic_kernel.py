"""What a kernel holds: the session the magics attach, the services it started (only those), dashboards following it.

A real IPython shell over the real services; the shell and one Session are shared by the
module (fixtures in conftest.py); each test works in tags of its own.
"""

from __future__ import annotations

import time

import pytest
from IPython.core.displaypub import CapturingDisplayPublisher

from agentfactory.magics.kernel import say
from agentfactory.magics.syntax import assignment_transform
from agentfactory.session import Session
from agentfactory.sources import DataRoots

pytestmark = pytest.mark.services


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
