"""json_text.dump writes exactly what json.dumps(indent=2, ensure_ascii=False) writes."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from sergas_observability.json_text import dump

GENERATED = Path(__file__).resolve().parent.parent / "generated"
ALPHABET = ['a', 'Z', '0', ' ', '"', '\\', '/', '\n', '\t', '\r', '\x00', '\x1f', '\x7f', 'é', '→', '\u2028', '😀', '{', '}', '$']


def _same(document) -> None:
    assert dump(document) == json.dumps(document, indent=2, ensure_ascii=False)


def test_every_generated_json_file():
    files = sorted(GENERATED.rglob("*.json"))
    assert files
    for path in files:
        _same(json.loads(path.read_text(encoding="utf-8")))


@pytest.mark.parametrize("value", [
    0, -1, 10**30, 0.1, 1e-09, 1e300, -0.0, float("inf"), float("-inf"), float("nan"), True, False, None, "",
    [], {}, [[]], {"a": {}}, {"a": []}, [1, [2, [3, {}]]], {7: "int key", 2.5: "float key", True: "bool", None: "none"},
    ("a", "tuple"),
])
def test_scalars_containers_and_keys(value):
    _same(value)


def test_random_documents():
    rng = random.Random(0)

    def text() -> str:
        return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 8)))

    def node(depth: int):
        kind = rng.randint(0, 6 if depth < 4 else 3)
        if kind == 0:
            return text()
        if kind == 1:
            return rng.choice([rng.randint(-10**6, 10**6), rng.random() * 10 ** rng.randint(-12, 12)])
        if kind == 2:
            return rng.choice([True, False, None])
        if kind == 3:
            return text()
        if kind in (4, 5):
            return {text(): node(depth + 1) for _ in range(rng.randint(0, 4))}
        return [node(depth + 1) for _ in range(rng.randint(0, 4))]

    for _ in range(2000):
        _same(node(0))


def test_what_json_cannot_hold_is_refused():
    with pytest.raises(TypeError):
        dump({"a": {1, 2}})
    with pytest.raises(TypeError):
        dump({("a",): 1})
