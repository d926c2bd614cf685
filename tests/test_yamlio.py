"""Safe YAML loading (limits, tags, aliases, encodings), locations, and atomic writes."""

from __future__ import annotations

import time

import pytest

from composer import yamlio
from composer.errors import ComposerError


def load_error(text: str) -> str:
    with pytest.raises(ComposerError) as info:
        yamlio.load(text, "p.yaml")
    return str(info.value)


def test_syntax_error_has_line_and_column():
    assert load_error("a: 1\nb: [1, 2\n").startswith("p.yaml:3:1: invalid YAML")


def test_duplicate_keys():
    message = load_error("metadata:\n  name: a\n  name: b\n")
    assert message.startswith("p.yaml:3:3:") and "duplicate key" in message


@pytest.mark.parametrize("text", ["a: !!python/object/apply:os.system ['echo hi']\n", "a: !custom 1\n", "a: !!binary aGk=\n"])
def test_tags_are_refused(text):
    assert "is not allowed" in load_error(text)


def test_alias_bomb_is_refused_quickly():
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    start = time.perf_counter()
    assert "expands to more than" in load_error("\n".join(lines) + "\n")
    assert time.perf_counter() - start < 2


def test_multiple_documents_refused():
    assert "more than one YAML document" in load_error("a: 1\n---\nb: 2\n")


def test_file_limits(tmp_path):
    binary = tmp_path / "b.yaml"
    binary.write_bytes(b"a: 1\x00\x01")
    latin = tmp_path / "l.yaml"
    latin.write_bytes("name: caf\xe9\n".encode("latin-1"))
    big = tmp_path / "big.yaml"
    big.write_bytes(b"# x\n" * (yamlio.MAX_BYTES // 4 + 1))
    for path, text in ((binary, "binary file"), (latin, "not valid UTF-8"), (big, "byte limit"),
                       (tmp_path / "nope.yaml", "file not found"), (tmp_path, "not a regular file")):
        with pytest.raises(ComposerError) as info:
            yamlio.load_file(path)
        assert text in str(info.value)
    with pytest.raises(ComposerError) as info:
        yamlio.load_file(latin)
    assert str(info.value).startswith(f"{latin}:1:10:")


def test_locate():
    doc = yamlio.load("a:\n  b:\n    - x\n    - {c: 1}\n", "p.yaml")
    assert yamlio.locate(doc, ["a", "b", 1, "c"]) == (4, 11)
    assert yamlio.locate(doc, ["a", "b", 1, "c"], key=True) == (4, 8)
    assert yamlio.locate(doc, ["a", "missing", "deeper"]) == (2, 3)


def test_dump_quotes_what_yaml_1_1_would_misread():
    text = yamlio.dump({"a": "yes", "b": "on", "c": "1.0", "d": "true", "e": "plain", "f": "0755", "g": "~"})
    assert text == "a: 'yes'\nb: 'on'\nc: '1.0'\nd: 'true'\ne: plain\nf: '0755'\ng: '~'\n"


def test_write_atomic_leaves_no_temp_files(tmp_path):
    target = tmp_path / "out" / "cluster.yaml"
    yamlio.write_atomic(target, "a: 1\n")
    yamlio.write_atomic(target, "a: 2\n")
    assert target.read_text() == "a: 2\n"
    assert [p.name for p in target.parent.iterdir()] == ["cluster.yaml"]
