"""Safe output: `write_tree` owns only what it wrote, refuses directories it did not create."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sergas_observability.output import MANIFEST, MANIFEST_HEADER, UnsafeOutput, diff_tree, read_tree, write_tree


def snapshot(root: Path) -> dict[str, bytes | str]:
    """Every byte under `root`, hidden files, symlinks and empty directories included."""
    tree: dict[str, bytes | str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        for name in filenames + dirnames:
            path = here / name
            rel = path.relative_to(root).as_posix()
            if path.is_symlink():
                tree[rel] = "-> " + os.readlink(path)
            elif path.is_dir():
                tree[rel + "/"] = f"dir {path.stat().st_mode:o}"
            else:
                tree[rel] = path.read_bytes()
    return tree


def manifest_paths(out: Path) -> list[str]:
    return (out / MANIFEST).read_text().splitlines()[1:]


def test_a_hand_written_file_beside_generated_files_survives_regeneration(tmp_path):
    out = tmp_path / "deploy"
    write_tree({"a.yml": "one\n", "sub/b.yml": "two\n"}, out)
    (out / "README.md").write_text("hand-written\n")
    (out / "sub/.notes").write_text("hidden, hand-written\n")
    (out / "pkg.egg-info").mkdir()
    (out / "pkg.egg-info/PKG-INFO").write_text("Name: pkg\n")
    (out / "empty").mkdir()
    (out / "link").symlink_to("a.yml")

    write_tree({"a.yml": "ONE\n", "sub/b.yml": "TWO\n"}, out)

    assert (out / "README.md").read_text() == "hand-written\n"
    assert (out / "sub/.notes").read_text() == "hidden, hand-written\n"
    assert (out / "pkg.egg-info/PKG-INFO").read_text() == "Name: pkg\n"
    assert (out / "empty").is_dir()
    assert os.readlink(out / "link") == "a.yml"
    assert read_tree(out) == {"a.yml": "ONE\n", "sub/b.yml": "TWO\n"}
    assert manifest_paths(out) == ["a.yml", "sub/b.yml"]


def test_a_stale_owned_file_is_removed(tmp_path):
    out = tmp_path / "generated"
    write_tree({"keep.yml": "k\n", "old/gone.yml": "g\n"}, out)
    (out / "mine.txt").write_text("mine\n")
    write_tree({"keep.yml": "k\n"}, out)
    assert not (out / "old/gone.yml").exists()
    assert not (out / "old").exists()  # its directory held only owned files
    assert (out / "mine.txt").read_text() == "mine\n"
    assert manifest_paths(out) == ["keep.yml"]


def test_pycache_is_not_a_foreign_file_and_is_dropped(tmp_path):
    out = tmp_path / "generated"
    write_tree({"pkg/__init__.py": "x = 1\n"}, out)
    (out / "pkg/__pycache__").mkdir()
    (out / "pkg/__pycache__/__init__.cpython-312.pyc").write_bytes(b"\0cache")
    write_tree({"pkg/__init__.py": "x = 2\n"}, out)
    assert not (out / "pkg/__pycache__").exists()


def test_a_non_empty_foreign_directory_is_refused_and_left_byte_for_byte(tmp_path):
    out = tmp_path / "project"
    (out / ".git").mkdir(parents=True)
    (out / ".git/HEAD").write_text("ref: refs/heads/main\n")
    (out / "src").mkdir()
    (out / "src/app.py").write_text("print('hi')\n")
    (out / "a.yml").write_text("hand-written, same path as a generated file\n")
    (out / "notes").mkdir()
    before = snapshot(tmp_path)

    with pytest.raises(UnsafeOutput) as caught:
        write_tree({"a.yml": "generated\n"}, out)

    message = str(caught.value)
    assert "\n" not in message
    assert "3 file(s)" in message and ".git/HEAD" in message and "notes/" in message and "src/app.py" in message
    assert snapshot(tmp_path) == before  # nothing written, not even a staging directory


def test_foreign_refusal_names_three_files_and_the_count(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    for name in "abcde":
        (out / f"{name}.txt").write_text(name)
    with pytest.raises(UnsafeOutput, match=r"5 file\(s\) .*a\.txt, b\.txt, c\.txt and 2 more"):
        write_tree({"x.yml": "x\n"}, out)


def test_an_out_dir_that_is_a_file_is_refused(tmp_path):
    out = tmp_path / "generated"
    out.write_text("not a directory\n")
    with pytest.raises(UnsafeOutput, match="not a directory"):
        write_tree({"a.yml": "a\n"}, out)
    assert out.read_text() == "not a directory\n"


def _project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "definitions").mkdir(parents=True)
    (root / "definitions/__init__.py").write_text("stack = None\n")
    return root


@pytest.mark.parametrize("where", [".", "definitions", "..", "../.."], ids=["is-root", "is-defs", "parent", "grandparent"])
def test_a_protected_directory_or_an_ancestor_of_one_is_refused(tmp_path, where):
    root = _project(tmp_path)
    before = snapshot(tmp_path)
    with pytest.raises(UnsafeOutput, match="protected"):
        write_tree({"a.yml": "a\n"}, root / where, protected=(root, root / "definitions"))
    assert snapshot(tmp_path) == before


def test_a_protected_directory_inside_out_dir_is_refused_even_with_a_manifest(tmp_path):
    out = tmp_path / "deploy"
    write_tree({"a.yml": "a\n"}, out)
    (out / "nested/definitions").mkdir(parents=True)
    before = snapshot(tmp_path)
    with pytest.raises(UnsafeOutput, match=r"contains .*nested/definitions"):
        write_tree({"a.yml": "b\n"}, out, protected=[out / "nested/definitions"])
    assert snapshot(tmp_path) == before


def test_the_default_output_inside_the_project_is_allowed(tmp_path):
    root = _project(tmp_path)
    write_tree({"a.yml": "a\n"}, root / "generated", protected=(root, root / "definitions"))
    assert read_tree(root / "generated") == {"a.yml": "a\n"}


def test_the_home_directory_and_the_filesystem_root_are_refused(tmp_path, monkeypatch):
    home = tmp_path / "home/someone"
    home.mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    with pytest.raises(UnsafeOutput, match="home directory"):
        write_tree({"a.yml": "a\n"}, home)
    with pytest.raises(UnsafeOutput, match="home directory"):
        write_tree({"a.yml": "a\n"}, home.parent)
    with pytest.raises(UnsafeOutput, match="filesystem root"):
        write_tree({"a.yml": "a\n"}, Path("/"))
    assert list(home.iterdir()) == []


def test_the_manifest_lists_exactly_the_written_files_and_is_deterministic(tmp_path):
    files = {"z.yml": "z\n", "a/b.json": "{}\n", "a/.hidden": "h\n", "m.txt": "m"}
    write_tree(files, tmp_path / "one")
    write_tree(dict(reversed(files.items())), tmp_path / "two")
    text = (tmp_path / "one" / MANIFEST).read_text()
    assert text == (tmp_path / "two" / MANIFEST).read_bytes().decode()
    lines = text.splitlines()
    assert lines[0] == MANIFEST_HEADER and lines[0].startswith("# Generated by sergas-obs")
    assert lines[1:] == sorted(files) == ["a/.hidden", "a/b.json", "m.txt", "z.yml"]
    write_tree(files, tmp_path / "one")  # regenerating changes nothing
    assert (tmp_path / "one" / MANIFEST).read_text() == text


def test_the_manifest_is_not_a_caller_file_and_not_in_read_tree(tmp_path):
    out = tmp_path / "generated"
    with pytest.raises(ValueError):
        write_tree({MANIFEST: "x"}, out)
    with pytest.raises(ValueError):
        write_tree({"../escape.yml": "x"}, out)
    write_tree({"a.yml": "a\n"}, out)
    assert read_tree(out) == {"a.yml": "a\n"}
    assert diff_tree({"a.yml": "a\n"}, out) == ""


def test_read_tree_reads_the_listed_regular_files_only(tmp_path):
    """What the manifest lists and is a regular file (a symlink followed) is read, as bytes decoded;
    a directory, a FIFO (never waited on) or a missing file in its place is absent."""
    import os

    out = tmp_path / "generated"
    write_tree({"a.yml": "a\r\n", "empty.yml": "", "big.yml": "x" * 300_000, "dir.yml": "d", "fifo.yml": "f",
                "gone.yml": "g", "link.yml": "l", "bad.yml": "b"}, out)
    (out / "dir.yml").unlink()
    (out / "dir.yml").mkdir()
    (out / "fifo.yml").unlink()
    os.mkfifo(out / "fifo.yml")
    (out / "gone.yml").unlink()
    (out / "link.yml").unlink()
    (tmp_path / "elsewhere.yml").write_text("linked\n")
    (out / "link.yml").symlink_to(tmp_path / "elsewhere.yml")
    (out / "bad.yml").write_bytes(b"caf\xe9\n")
    assert read_tree(out) == {"a.yml": "a\r\n", "bad.yml": "caf\ufffd\n", "big.yml": "x" * 300_000, "empty.yml": "",
                              "link.yml": "linked\n"}


def test_a_failed_write_leaves_the_previous_tree_and_manifest(tmp_path):
    out = tmp_path / "generated"
    write_tree({"a.yml": "old\n", "b/c.yml": "old c\n"}, out)
    (out / "README.md").write_text("mine\n")
    before = snapshot(tmp_path)
    with pytest.raises(ValueError):  # the OS refuses a NUL byte in a file name
        write_tree({"a.yml": "new\n", "bad\0name.yml": "x"}, out)
    assert snapshot(tmp_path) == before


def test_a_manifest_less_previous_output_is_adopted(tmp_path):
    out = tmp_path / "generated"
    (out / "prometheus/__pycache__").mkdir(parents=True)
    (out / "prometheus/__pycache__/x.pyc").write_bytes(b"cache")
    (out / "prometheus/prometheus.yml").write_text("old\n")
    (out / "gone.yml").write_text("stale\n")
    files = {"prometheus/prometheus.yml": "new\n", "gone.yml": "still generated\n", "added.yml": "a\n"}
    assert "a/prometheus/prometheus.yml" in diff_tree(files, out)  # compared whole before adoption
    write_tree(files, out)
    assert read_tree(out) == files
    assert manifest_paths(out) == sorted(files)


def test_an_unowned_file_where_generate_wants_to_write_is_refused(tmp_path):
    out = tmp_path / "generated"
    write_tree({"a.yml": "a\n"}, out)
    (out / "b.yml").write_text("hand-written\n")
    before = snapshot(tmp_path)
    with pytest.raises(UnsafeOutput, match=r"not in its \.sergas-obs-manifest \(b\.yml\)"):
        write_tree({"a.yml": "a\n", "b.yml": "generated\n"}, out)
    assert snapshot(tmp_path) == before


def test_check_sees_owned_drift_and_stale_owned_files_but_not_unowned_files(tmp_path):
    out = tmp_path / "generated"
    write_tree({"a.yml": "a\n", "stale.yml": "s\n", "missing.yml": "m\n"}, out)
    (out / "missing.yml").unlink()
    (out / "stray.yml").write_text("hand: edit\n")
    (out / MANIFEST).write_text((out / MANIFEST).read_text() + "\n")  # the manifest is not compared
    diff = diff_tree({"a.yml": "A\n", "missing.yml": "m\n"}, out)
    assert "-a\n+A\n" in diff
    assert "--- a/stale.yml\n+++ /dev/null" in diff
    assert "--- /dev/null\n+++ b/missing.yml" in diff
    assert "stray" not in diff and MANIFEST not in diff
    # a listed file that is gone and no longer generated is not drift either
    assert diff_tree({"a.yml": "a\n", "stale.yml": "s\n"}, out) == ""


# -- an edit rewrites only what it changed ----------------------------------------------


def _inodes(out: Path) -> dict[str, tuple[int, int]]:
    return {p.relative_to(out).as_posix(): (p.stat().st_ino, p.stat().st_mtime_ns) for p in out.rglob("*") if p.is_file()}


def test_files_an_edit_left_unchanged_are_carried_over_not_rewritten(tmp_path):
    out = tmp_path / "generated"
    files = {"a.yml": "a\n", "b/c.yml": "c\n", "b/d.yml": "d\n"}
    write_tree(files, out)
    before = _inodes(out)
    assert write_tree({**files, "b/c.yml": "changed\n", "e.yml": "new\n"}, out, current=read_tree(out))
    after = _inodes(out)
    assert after["a.yml"] == before["a.yml"] and after["b/d.yml"] == before["b/d.yml"]  # the same file: no write
    assert after["b/c.yml"][0] != before["b/c.yml"][0]
    assert read_tree(out) == {**files, "b/c.yml": "changed\n", "e.yml": "new\n"}
    assert [p.name for p in tmp_path.iterdir()] == ["generated"]  # no staging or retired tree left


def test_what_is_not_the_same_plain_file_on_disk_is_written_afresh(tmp_path):
    """A hand edit, a file with another name elsewhere, a symlink, and bytes that only decode
    to the same text: each gets the generated bytes in a file of its own."""
    out = tmp_path / "generated"
    files = {"edited.yml": "x: 1\n", "shared.yml": "s\n", "linked.yml": "l\n", "bytes.md": "caf\ufffd\n"}
    write_tree(files, out)
    current = read_tree(out)
    (out / "edited.yml").write_text("x: 2\n")
    elsewhere = tmp_path / "mine.yml"
    os.link(out / "shared.yml", elsewhere)
    target = tmp_path / "target.yml"
    target.write_text("l\n")
    (out / "linked.yml").unlink()
    (out / "linked.yml").symlink_to(target)
    (out / "bytes.md").write_bytes(b"caf\xe9\n")  # not UTF-8: read_tree shows U+FFFD, as generated
    current = read_tree(out)
    assert current["bytes.md"] == files["bytes.md"] and current["linked.yml"] == files["linked.yml"]
    assert write_tree(files, out, current=current)
    assert (out / "edited.yml").read_text() == "x: 1\n"
    assert (out / "bytes.md").read_bytes() == "caf\ufffd\n".encode()
    assert not (out / "linked.yml").is_symlink() and (out / "linked.yml").read_text() == "l\n"
    assert (out / "shared.yml").stat().st_nlink == 1 and elsewhere.stat().st_nlink == 1
    elsewhere.write_text("theirs\n")
    assert (out / "shared.yml").read_text() == "s\n"


def test_a_failed_edit_leaves_the_previous_tree_whole_even_with_carried_files(tmp_path):
    out = tmp_path / "generated"
    write_tree({"a.yml": "old\n", "b/c.yml": "old c\n"}, out)
    before = snapshot(tmp_path)
    links = {p.name: p.stat().st_nlink for p in out.rglob("*.yml")}
    with pytest.raises(ValueError):
        write_tree({"a.yml": "old\n", "b/c.yml": "old c\n", "bad\0name.yml": "x"}, out, current=read_tree(out))
    assert snapshot(tmp_path) == before
    assert {p.name: p.stat().st_nlink for p in out.rglob("*.yml")} == links == {"a.yml": 1, "c.yml": 1}


def test_written_files_have_the_mode_open_gives_them(tmp_path):
    """write_tree writes with os calls: the umask decides the mode, as it does for open()."""
    import os

    old = os.umask(0o027)
    try:
        write_tree({"a.yml": "a\n", "sub/b.yml": "b" * 200_000}, tmp_path / "out")
    finally:
        os.umask(old)
    for rel in ("a.yml", "sub/b.yml"):
        assert ((tmp_path / "out" / rel).stat().st_mode & 0o777) == 0o640, rel
    assert (tmp_path / "out" / "sub" / "b.yml").read_text() == "b" * 200_000


def test_read_tree_reads_a_file_that_grew_since_its_size_was_taken(tmp_path, monkeypatch):
    import os
    import types

    from sergas_observability import output

    out = tmp_path / "generated"
    write_tree({"a.yml": "x" * 5000}, out)
    real = os.fstat
    monkeypatch.setattr(output.os, "fstat", lambda fd: types.SimpleNamespace(st_mode=real(fd).st_mode, st_size=100))
    assert read_tree(out) == {"a.yml": "x" * 5000}
