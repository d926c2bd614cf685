"""Safe YAML loading (limits, tags, aliases, encodings), locations, and atomic writes."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from composer.core.errors import ComposerError
from composer.files import yamlio
from composer.files.yamlio import position

ROOT = Path(__file__).resolve().parent.parent


def load_error(text: str) -> str:
    with pytest.raises(ComposerError) as info:
        yamlio.load(text, "p.yaml")
    return str(info.value)


def test_syntax_error_has_line_and_column():
    assert load_error("a: 1\nb: [1, 2\n").startswith("p.yaml:3:1: invalid YAML")


def test_duplicate_keys():
    message = load_error("metadata:\n  name: a\n  name: b\n")
    assert message.startswith("p.yaml:3:3:") and "duplicate key" in message


@pytest.mark.parametrize(
    "text", ["a: !!python/object/apply:os.system ['echo hi']\n", "a: !custom 1\n", "a: !!binary aGk=\n"]
)
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
    for path, text in (
        (binary, "binary file"),
        (latin, "not valid UTF-8"),
        (big, "byte limit"),
        (tmp_path / "nope.yaml", "file not found"),
        (tmp_path, "not a regular file"),
    ):
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


# ---------------------------------------------------------------- both parsers against ruamel's round-trip loader


def _positions(node, path=()):
    """Every (path, key position, value position) of a tree loaded by ruamel's round-trip loader."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k in (node.lc.data or {}):  # ruamel records no position for keys brought in by <<
                yield path + (k,), tuple(node.lc.key(k)), tuple(node.lc.value(k))
            yield from _positions(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield path + (i,), tuple(node.lc.item(i)), None
            yield from _positions(v, path + (i,))


def _our_positions(node, path=()):
    if isinstance(node, dict):
        for k, v in node.items():
            yield path + (k,), node.pos[k][:2], node.pos[k][2:]
            yield from _our_positions(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield path + (i,), node.pos[i], None
            yield from _our_positions(v, path + (i,))


PARITY_CASES = [
    *(p.read_text() for p in sorted((ROOT / "profiles").rglob("*.yaml"))),
    "a: yes\nb: 0o17\nc: 017\nd: 1_000\ne: 2.5e-3\nf: on\ng: ~\nh: 0x1F\ni: 1e3\nj: 12:30\nk: -.5\nl: ''\n",
    "%YAML 1.1\n---\na: yes\nb: 010\nc: 1:30\n",  # the directive's YAML 1.1 resolution
    "m: {url: https://charts.example.com, n: 1}\n",  # YAML 1.2 only: libyaml rejects, the pure scanner reads it
    'a: &x {b: [1, 2]}\nc: *x\nd: |\n  line\ne: >-\n  folded\n  text\ng: "q"\n',
    "base: &b {cpu: 1, mem: 2}\nx:\n  <<: *b\n  cpu: 3\n",
]


@pytest.mark.parametrize("pure", ["", "1"], ids=["libyaml", "pure"])
@pytest.mark.parametrize("text", PARITY_CASES)
def test_both_parsers_match_ruamels_round_trip_loader(text, pure, monkeypatch):
    from ruamel.yaml import YAML

    monkeypatch.setenv("COMPOSE_PURE_YAML", pure)
    ours = yamlio.load(text, "f.yaml")
    oracle = YAML(typ="rt", pure=True).load(text)
    assert ours == oracle
    expected = {path: rest for path, *rest in _positions(oracle)}
    got = {path: rest for path, *rest in _our_positions(ours)}
    assert {path: got.get(path) for path in expected} == expected


@pytest.mark.skipif(not yamlio._c_composer(), reason="ruamel.yaml.clib not installed")
def test_libyaml_is_used_for_block_yaml_and_the_pure_scanner_otherwise(monkeypatch):
    from ruamel.yaml import YAML

    calls = []
    real = YAML.compose
    monkeypatch.setattr(YAML, "compose", lambda self, text: calls.append(1) or real(self, text))
    yamlio.load("a:\n  b: [1, 2]\n", "f.yaml")
    assert calls == []
    yamlio.load("m: {url: https://x.example}\n", "f.yaml")  # libyaml (YAML 1.1) rejects ':' here
    assert calls == [1]


def test_deep_flow_nesting_is_an_error_not_a_crash():
    # libyaml composes recursively in C and crashes the interpreter on ~100k nested brackets
    started = time.perf_counter()
    assert load_error("a: " + "[" * 200_000 + "]" * 200_000 + "\n").startswith(
        "p.yaml:1:68: document nests deeper than 64 levels"
    )
    assert load_error("{a: " * 100_000 + "}" * 100_000).startswith("p.yaml:1:")
    assert time.perf_counter() - started < 2
    wide = "[" + ", ".join(["[1]"] * 3000) + "]"  # many brackets, shallow: fine
    assert len(yamlio.load(wide, "p.yaml")) == 3000


@pytest.mark.parametrize("pure", [False, True])
def test_deep_block_nesting_is_an_error_not_a_crash(pure, monkeypatch):
    # 40,000 levels of "- " crashed the interpreter in libyaml's composer (and hung a parallel validate)
    if pure:
        monkeypatch.setattr(yamlio, "_C_COMPOSER", False)
    started = time.perf_counter()
    assert load_error("- " * 40_000 + "x\n").startswith("p.yaml:1:129: document nests deeper than 64 levels")
    assert load_error("a:\n" + "".join(" " * i + f"k{i}:\n" for i in range(1, 3000)) + " " * 3000 + "x\n").startswith(
        "p.yaml:65:65: document nests deeper than 64 levels"
    )
    assert time.perf_counter() - started < 5
    deep_but_legal = "a:\n" + " " * 200 + "- x\n"  # far indented, one level deep: fine
    assert yamlio.load(deep_but_legal, "p.yaml") == {"a": ["x"]}


def test_merge_keys_and_explicit_tags():
    doc = yamlio.load("base: &b {cpu: 1, mem: 2}\nx:\n  <<: *b\n  cpu: 3\n", "p.yaml")
    assert doc["x"] == {"cpu": 3, "mem": 2}
    assert yamlio.load("f: !!str 12\n", "p.yaml") == {"f": "12"}  # ruamel would keep a TaggedScalar
    assert "cannot read 'abc' as int" in load_error("a: !!int abc\n")
    assert "merge key" in load_error("a:\n  <<: 3\n")
    assert "keys must be plain scalars" in load_error("? [a]\n: 1\n")


def test_source_crosses_processes_without_its_tree_and_rereads_it(tmp_path):
    import pickle

    from composer.core.model import Source

    path = tmp_path / "p.yaml"
    path.write_text("workload:\n  kind: Job\n")
    source = Source(str(path), yamlio.load_file(path))
    copy = pickle.loads(pickle.dumps(source))
    assert copy.doc is None and position(copy, "workload.kind") == (2, 9) == position(source, "workload.kind")
    assert position(pickle.loads(pickle.dumps(Source("composer.yaml"))), "x") == (0, 0)  # never had a tree


@pytest.mark.parametrize(
    "text",
    [
        "a: .inf\n",
        "a: -.Inf\n",
        "a: .nan\n",
        "a: 1e999\n",
        "a: 9223372036854775808\n",
        "a: -9223372036854775809\n",
        "a: 0x" + "f" * 4000 + "\n",
        "a: " + "9" * 5000 + "\n",
    ],
)
def test_numbers_no_input_can_mean_are_refused_with_a_short_message(text):
    message = load_error(text)
    assert message.startswith("p.yaml:1:4: ") and ("finite" in message or "out of range" in message)
    assert len(message) < 200
    assert yamlio.load("a: 9223372036854775807\n", "p.yaml") == {"a": 2**63 - 1}


from hypothesis import given  # noqa: E402
from hypothesis import settings as hsettings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_words = st.sampled_from(
    [
        "name",
        "a",
        "fp-1",
        "composer.io/node-class",
        "on",
        "yes",
        "1.0",
        "0x1F",
        "12:30",
        "-x",
        "it's",
        "two words",
        "a: b",
        "x #y",
        "",
        "~",
        "null",
        "*star",
        "&amp",
        "ünï",
        "tab\there",
        "line\nbreak",
        "https://charts.acme.example/stable",
        "3.4.1",
        "v1",
        "true",
        "@at",
        "a,b",
        "workload.volumes[0]",
        "a[",
        "x]",
        "[0]",
        "a[0]:",
        "k[1]: v",
        "a]b",
    ]
)
_scalars = st.one_of(_words, st.integers(-(10**6), 10**12), st.booleans(), st.none(), st.floats(allow_nan=False))
_docs = st.dictionaries(
    _words,
    st.recursive(
        _scalars,
        lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(_words, inner, max_size=3)),
        max_leaves=10,
    ),
    min_size=1,
    max_size=5,
)


@hsettings(max_examples=400, deadline=None)
@given(_docs)
def test_the_fast_emitter_writes_exactly_what_ruamel_writes(doc):
    """dump() takes a fast path for compose's usual shapes; its bytes must be ruamel.yaml's, and
    anything it does not handle falls back to ruamel.yaml itself."""
    assert yamlio.dump(doc, "header\\n\\nline") == yamlio._ruamel_dump(doc, "header\\n\\nline")


def test_the_fast_emitter_takes_the_usual_shapes():
    lines: list[str] = []
    doc = {
        "releases": [
            {
                "name": "api",
                "labels": {"placement": "fargate"},
                "values": [{"podLabels": {"a": "b"}}],
                "wait": True,
                "timeout": 600,
            }
        ],
        "empty": {},
        "none": [],
    }
    assert yamlio._fast_mapping(doc, 0, lines) and yamlio.dump(doc) == yamlio._ruamel_dump(doc)


def test_generated_files_are_byte_identical_with_and_without_the_fast_emitter(tmp_path, monkeypatch):
    """The example estate and a 1,000-profile bench estate: every generated file, both ways."""
    import sys

    from composer.emit.plan import build_plan
    from tests.conftest import ROOT

    sys.path.insert(0, str(ROOT / "bench"))
    from estate import generate

    generate(tmp_path / "big", 1000)
    estates = [
        (ROOT / "composer.yaml", [ROOT / "profiles"]),
        (tmp_path / "big" / "composer.yaml", [tmp_path / "big" / "profiles"]),
    ]
    fast = [build_plan(c, p, tmp_path / "out").files for c, p in estates]
    monkeypatch.setattr(yamlio, "_fast_mapping", lambda *args, **kwargs: False)
    slow = [build_plan(c, p, tmp_path / "out").files for c, p in estates]
    assert fast == slow and all(len(f) >= 2 for f in fast)


@hsettings(max_examples=400, deadline=None)
@given(_docs)
def test_the_tree_the_fast_emitter_records_is_the_one_loading_its_text_builds(doc):
    """dump_with_tree gives scan the profile's positions without parsing what it wrote: they must be
    exactly those that loading the text gives, for every position of every node."""
    text, tree = yamlio.dump_with_tree(doc, "header\\n\\nline")
    assert text == yamlio.dump(doc, "header\\n\\nline")
    if tree is None:
        return
    loaded = yamlio.load(text, "t.yaml")

    def same(a, b):
        assert a == b and type(a) is type(b) and getattr(a, "pos", None) == getattr(b, "pos", None)
        if isinstance(a, dict):
            for k in a:
                same(a[k], b[k])
        elif isinstance(a, list):
            for x, y in zip(a, b):
                same(x, y)

    same(tree, loaded)
