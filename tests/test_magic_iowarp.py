"""`%iowarp` in a real IPython shell over the real services: put and get objects, views as DataFrames, usage errors.

The shell and one Session are shared by the module (fixtures in conftest.py; the services
are the suite's); each test works in tags of its own.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from IPython.core.error import UsageError

from agentfactory.magics import AgentResult

pytestmark = pytest.mark.services


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


# -- issue 9: a notebook that tells the truth ----------------------------------------------
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
