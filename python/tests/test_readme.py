"""The README's examples run as written (issue 15).

A shell example in README.md is tested when the line before its ```sh fence
is a marker (an HTML comment, not shown on the rendered page):

    <!-- readme-test: NAME; makes FILE...; prints TEXT; smaller OLD => NEW -->

Fields after the name are optional.  The block runs with `bash -e` in a
fresh directory where `build` and `python` lead to this tree's (so the
README's `build/cldyn` and `PYTHONPATH=python` work unchanged) and `python3`
is the interpreter running pytest (Debian's, with NumPy).  It must exit 0,
make every FILE (non-empty), print every TEXT on stdout and leave no
temporary file behind.  `smaller OLD => NEW` replaces the text OLD (which
must be in the block) by NEW, for an example whose own sizes are too slow
for the test suite; the README says so beside the example."""

import os
import re
import subprocess
import sys
from collections import namedtuple

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir, os.pardir))
README = os.path.join(ROOT, "README.md")
BUILD = os.path.dirname(os.path.abspath(os.environ.get("CLDYN_BIN", os.path.join(ROOT, "build", "cldyn"))))

Block = namedtuple("Block", "name code makes prints smaller")
MARK = re.compile(r"^<!-- readme-test: (.*?) -->\n```sh\n(.*?)^```", re.M | re.S)


def marked_blocks(text):
    blocks = []
    for m in MARK.finditer(text):
        fields = [f.strip() for f in m.group(1).split(";")]
        makes, prints, smaller = [], [], None
        for f in fields[1:]:
            key, _, val = f.partition(" ")
            if key == "makes":
                makes += val.split()
            elif key == "prints":
                prints.append(val)
            elif key == "smaller" and " => " in val:
                smaller = tuple(val.split(" => ", 1))
            else:
                raise ValueError(f"README marker '{fields[0]}': unknown field '{f}'")
        blocks.append(Block(fields[0], m.group(2), makes, prints, smaller))
    return blocks


BLOCKS = marked_blocks(open(README).read())


def test_the_studies_are_marked():
    """The sweep-then-plot study and the Python example are tested, and every
    marker (a line that starts with one) sits right before a sh block (a
    marker elsewhere would be silently skipped)."""
    text = open(README).read()
    names = [b.name for b in BLOCKS]
    assert "sweep-then-plot" in names and "python" in names, names
    assert len(names) == len(set(names)) == len(re.findall(r"^<!-- readme-test:", text, re.M))


def test_marker_grammar():
    b = marked_blocks("<!-- readme-test: x; makes a b; prints hi there; smaller 1 => 2 -->\n```sh\necho 1\n```\n")
    assert b == [Block("x", "echo 1\n", ["a", "b"], ["hi there"], ("1", "2"))]
    with pytest.raises(ValueError):
        marked_blocks("<!-- readme-test: x; make a -->\n```sh\ntrue\n```\n")


@pytest.mark.parametrize("block", BLOCKS, ids=[b.name for b in BLOCKS])
def test_readme_block_runs_as_written(block, tmp_path):
    code = block.code
    if block.smaller:
        old, new = block.smaller
        assert old in code, f"'{old}' is no longer in the README's {block.name} example"
        code = code.replace(old, new)
    os.symlink(BUILD, tmp_path / "build")
    os.symlink(os.path.join(ROOT, "python"), tmp_path / "python")
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    p = subprocess.run(["bash", "-e", "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, f"{block.name}: exit {p.returncode}\n{p.stdout}\n{p.stderr}"
    for f in block.makes:
        path = tmp_path / f
        assert path.is_file() and path.stat().st_size > 0, f"{block.name}: no {f}"
    for t in block.prints:
        assert t in p.stdout, f"{block.name}: '{t}' not printed:\n{p.stdout}"
    left = [f for f in os.listdir(tmp_path) if ".tmp." in f]
    assert not left, f"{block.name}: temporary files left: {left}"
