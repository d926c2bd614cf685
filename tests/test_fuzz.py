"""Random and mutated profiles never crash the pipeline: they plan, or fail with a ComposerError."""

from __future__ import annotations

import copy
import string
from pathlib import Path

from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from composer.core.errors import ComposerError
from composer.core.model import Source
from composer.emit.plan import compose
from composer.files import schema, yamlio
from composer.load.profiles import build_workload
from composer.place.checks import check_workloads
from composer.place.classify import classify_all
from tests.conftest import profile_doc, settings

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 10**6),
    st.floats(allow_nan=True),
    st.text(string.printable, max_size=12),
    st.sampled_from(
        [
            "500m",
            "1Gi",
            "-1",
            "5Zi",
            "Deployment",
            "DaemonSet",
            "LoadBalancer",
            "nlb",
            "ip",
            "gp3",
            "efs-sc",
            "hostPath",
            "persistentVolumeClaim",
            "arm64",
            "windows",
        ]
    ),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(string.ascii_letters, max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
PATHS = [
    ("workload", "kind"),
    ("workload", "replicas"),
    ("workload", "containers"),
    ("workload", "containers", 0, "resources"),
    ("workload", "services"),
    ("workload", "volumes"),
    ("workload", "nodeSelector"),
    ("workload", "affinity"),
    ("metadata", "name"),
    ("metadata", "namespace"),
    ("release",),
    ("placement",),
    ("workload", "hostPorts"),
    ("workload", "initContainers"),
]


def mutate(doc: dict, path: tuple, value) -> dict:
    doc = copy.deepcopy(doc)
    node = doc
    for step in path[:-1]:
        try:
            node = node[step]
        except (KeyError, IndexError, TypeError):
            return doc
    if isinstance(node, dict):
        node[path[-1]] = value
    return doc


def pipeline(doc) -> None:
    text = yamlio.dump(doc)
    loaded = yamlio.load(text, "fuzz.yaml")
    problems = schema.validate("profile", loaded, "fuzz.yaml") if loaded is not None else []
    if loaded is not None and schema.accepts("profile", loaded):
        assert not problems, problems  # the fast check never lets through what jsonschema rejects
    if loaded is None or problems or not isinstance(loaded, dict):
        return
    w = build_workload(loaded, Source("fuzz.yaml", loaded), Path("."))
    check_workloads([w])
    placements, _ = classify_all([w])
    compose(settings(), placements, Path("."))


@hsettings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(PATHS), values)
def test_mutated_profiles(path, value):
    try:
        pipeline(mutate(profile_doc(release={"chart": "acme/x", "repository": "https://c.example"}), path, value))
    except ComposerError:
        pass


@hsettings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_random_text(text):
    try:
        doc = yamlio.load(text, "fuzz.yaml")
        if isinstance(doc, dict):
            problems = schema.validate("profile", doc, "fuzz.yaml")
            assert not (problems and schema.accepts("profile", doc))
    except ComposerError:
        pass
