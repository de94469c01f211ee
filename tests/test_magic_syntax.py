"""What the magics do to a line before any agent sees it: `x << %%agent` rewriting, `{name}` filling, option splitting.

Plain functions: no shell, no services.
"""

from __future__ import annotations

from agentfactory.magics import interpolate
from agentfactory.magics.syntax import assignment_transform, split_options

def test_transformer_leaves_python_and_other_magics_alone():
    assert assignment_transform(["x << 2\n"]) == ["x << 2\n"]
    assert assignment_transform(["%%bash\n", "y << %agent q\n"]) == ["%%bash\n", "y << %agent q\n"]
    assert assignment_transform(["r << %%agent -n\n", "q\n"]) == ["%%agent r << -n\n", "q\n"]
    assert assignment_transform(["  r << %agent query x\n"]) == ["  %agent r << query x\n"]


def test_interpolation_fills_known_names_only():
    ns = {"tag": "docs", "n": 3}
    assert interpolate("get {n}.md from {tag}", ns) == "get 3.md from docs"
    assert interpolate("get {nosuch} from {tag}", ns) == "get {nosuch} from docs"
    assert interpolate("odd {a b} {} {tag", ns) == "odd {a b} {} {tag"
    assert interpolate("literal {{tag}}", ns) == "literal {tag}"
    assert interpolate("{x[0]} {tag.upper}", ns) == "{x[0]} {tag.upper}"


def test_split_options_keeps_the_command_verbatim():
    assert split_options('--backend rule -n get "a  b" from t') == ("--backend rule -n ", 'get "a  b" from t')
    assert split_options("--agent=iowarp_agent query x") == ("--agent=iowarp_agent ", "query x")
    assert split_options("-- -odd command") == ("", "-odd command")
    assert split_options("-o out") == ("-o out", "")
