"""yaml_text.dump: what it writes loads back as the document, in PyYAML's block layout."""

from __future__ import annotations

import math
import random
from pathlib import Path

import pytest
import yaml

from sergas_observability.yaml_text import dump

GENERATED = Path(__file__).parent.parent / "generated"
LOADERS = [yaml.SafeLoader] + ([yaml.CSafeLoader] if hasattr(yaml, "CSafeLoader") else [])


def same(a, b) -> bool:
    """Deep equality that also compares types (True is not 1), key order, nan, and tuples as lists."""
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    if isinstance(a, dict):
        return (
            isinstance(b, dict)
            and len(a) == len(b)
            and all(same(ka, kb) and same(a[ka], b[kb]) for ka, kb in zip(a, b))
        )
    if isinstance(a, (list, tuple)):
        return isinstance(b, list) and len(a) == len(b) and all(map(same, a, b))
    return type(a) is type(b) and a == b


def assert_round_trip(document) -> str:
    text = dump(document)
    assert text.endswith("\n")
    for loader in LOADERS:
        loaded = yaml.load(text, Loader=loader)
        assert same(document, loaded), f"{loader.__name__}: {document!r} -> {text!r} -> {loaded!r}"
    return text


def fast_safe_load(text: str):
    """yaml.safe_load, with libyaml when it is there."""
    return yaml.load(text, Loader=LOADERS[-1])


def pyyaml_dump(document) -> str:
    """What output.dump_yaml wrote before: CSafeDumper, no aliases, literal blocks for multi-line strings."""

    class Dumper(yaml.CSafeDumper):
        def ignore_aliases(self, data):
            return True

    def str_representer(dumper, value):
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)

    Dumper.add_representer(str, str_representer)
    return yaml.dump(document, Dumper=Dumper, sort_keys=False, allow_unicode=True, width=1_000_000)


TRICKY = [
    # bool / null / number / timestamp look-alikes (YAML 1.1, as safe_load reads them)
    "yes", "Yes", "YES", "no", "No", "y", "n", "on", "off", "Off", "true", "False", "null", "Null", "NULL", "~", "",
    "0", "-1", "+1", "1_000", "0x1f", "0o17", "017", "0b101", "1:20", "190:20:30", "-1:20", "1.5", "1e3", "1.0e+3",
    "1e-09", ".5", "5.", "-.5", ".inf", "-.Inf", "+.INF", ".nan", ".NaN", "2024-01-01", "2024-01-01 10:00:00",
    "2024-01-01t10:00:00.5Z", "=", "<<", "<", "!", "&a", "*a", "!!str", "%TAG", "@x", "`x`",
    # indicators and quotes
    "-", "- x", "-x", "--", "---", "--- x", "...", "... x", "?", "? x", "?x", ":", ": x", ":x", "x:", "x: y", "x:y",
    "a,b", "[x]", "{x}", "x[0]", "a{b}", "#x", "x #y", "x#y", "|", "|x", ">", ">x", "'", "''", "'x'", '"', '"x"',
    "it's", 'say "hi"', "\\", "a\\nb", "\\x41", "%", "50%",
    # whitespace
    " ", "  ", " x", "x ", " x ", "a  b", "\t", "x\ty", "\tx", "\r", "\r\n", "a\r\nb\r\n", "\n", "\n\n", "\n\n\n",
    "x\n", "x\n\n", "x\n\n\n", "\nx", "\n\nx", "\n x", " x\ny", "x\n y", "x \ny", "x\ny ", "x\n \ny", "x\n\ny",
    "x\n\n\ny\n", "  indented\n  block\n", "trailing spaces  \nhere", "a\n#b\n- c\n? d\n...\n---\n", "\x00", "\x07",
    "\x1b[0m", "\x7f", "\x85", "a\u2028b", "a\u2029b", "\ufeffx", "x\ufeff", "\ufffe", "\uffff",
    # unicode
    "é", "naïve", "日本語", "\xa0", "x\xa0", "\xa0x", "😀", "x😀y", "Ελληνικά: α", "ß\nü\n",
    # the texts the compilers write
    "{{ $labels.x }}", "{{ $labels.instance }} is down", "{{ $value | humanizePercentage }}",
    'sum(rate(http_requests_total{job="api",code=~"5.."}[5m])) / sum(rate(http_requests_total{job="api"}[5m]))',
    'sum by (le) (rate(x_bucket{route!~".*/(stream|events)"}[5m]))\n/\nignoring(le) group_left\nsum(rate(x_count[5m]))',
    'up{job="a"} == 0 # comment', "https://runbooks.example.com/slo#api-availability", "https://x/a?b=c&d=e#f",
    "http://[::1]:9090/", "app:9090", "../rules/*.yml", "15s", "1h", "30d", "99.9", "0.999", "5m:1h",
]  # fmt: skip

NUMBERS = [0, -1, 1, 10**20, -(10**20), 0.0, -0.0, 0.1, -2.5, 1.0, 1e-09, 1.5e-07, 1e16, 1e300, -1e300, 5e-324]


@pytest.mark.parametrize("text", TRICKY, ids=repr)
def test_tricky_strings_round_trip(text):
    assert_round_trip(text)
    assert_round_trip({"value": text, text: text, "list": [text, {text: [text]}], "nested": {"deeper": text}})


def test_all_tricky_strings_in_one_document():
    assert_round_trip({"as_values": TRICKY, "as_keys": {text: index for index, text in enumerate(TRICKY)}})


def test_numbers_none_and_bools_round_trip():
    assert_round_trip(NUMBERS + [math.inf, -math.inf, math.nan, None, True, False])
    assert_round_trip({7: "int key", 2.5: "float key", True: "bool key", None: "null key", -3: [1e-09]})
    text = dump({"a": math.inf, "b": -math.inf, "c": math.nan, "d": 1e-09, "e": 1e300, "f": 1.0, "g": 10**20})
    assert text == "a: .inf\nb: -.inf\nc: .nan\nd: 1.0e-09\ne: 1.0e+300\nf: 1.0\ng: 100000000000000000000\n"
    assert math.isnan(yaml.safe_load(text)["c"])


def test_scalar_documents():
    for document in ["x", "a\nb", "", None, True, 1, 1.5, {}, [], (), "x\n\n"]:
        assert_round_trip(document)
    assert dump(None) == "null\n"
    assert dump({}) == "{}\n"
    assert dump([]) == "[]\n"


def test_empty_and_deeply_nested_containers():
    assert_round_trip({"a": {}, "b": [], "c": [{}, [], [[]], {"d": {}}], "e": {"f": []}, "g": ()})
    deep: object = "bottom"
    for depth in range(150):
        deep = {f"level{depth}": deep} if depth % 3 else [deep, depth]
    assert_round_trip(deep)
    assert_round_trip([[[[[["x", {"a": [[{"b": "c\nd"}]]}]]]]]])


def test_tuples_are_sequences():
    assert dump({"a": (1, ("x", ())), "b": ()}) == "a:\n- 1\n- - x\n  - []\nb: []\n"


def test_long_and_multi_line_keys_are_explicit_entries():
    long_key = "k" * 200
    text = assert_round_trip({long_key: {"x": 1, "y": [1]}, "a\nb": "v", "short": 1})
    assert text == f"? {long_key}\n: x: 1\n  y:\n  - 1\n? |-\n  a\n  b\n: v\nshort: 1\n"
    assert_round_trip({"é" * 65: 1, "é" * 64: 2, "k" * 2000: [1, 2], "\r": {}, "": ""})


NASTY = list(" \n\n\t\r:#-?'\"\\{}[],&*!|>%@`~.=<+_0123456789eEaxyz/$ ") + [
    "é", "\xa0", "\x00", "\x7f", "\x85", "\u2028", "\u2029", "\ufeff", "😀", "日",
]  # fmt: skip
TOKENS = TRICKY[:80] + ["{{ $labels.x }}", ": ", " #", "\n\n", "  ", "---", "..."]


def random_string(rng: random.Random, alphabet: list[str] = NASTY) -> str:
    parts = []
    for _ in range(rng.randint(0, 6)):
        if rng.random() < 0.25:
            parts.append(rng.choice(TOKENS))
        else:
            parts.append("".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6))))
    return "".join(parts)


def random_document(rng: random.Random, alphabet: list[str] = NASTY, depth: int = 0):
    roll = rng.random()
    if depth > 4 or roll < 0.35:
        if rng.random() < 0.75:
            return random_string(rng, alphabet)
        return rng.choice(NUMBERS + [math.inf, -math.inf, None, True, False])
    if roll < 0.7:
        document = {}
        for _ in range(rng.randint(0, 5)):
            key = random_string(rng, alphabet) if rng.random() < 0.9 else rng.choice([1, -2, 2.5, True, None, "k" * 130])
            document[key] = random_document(rng, alphabet, depth + 1)
        return document
    items = [random_document(rng, alphabet, depth + 1) for _ in range(rng.randint(0, 5))]
    return items if rng.random() < 0.9 else tuple(items)


def test_random_strings_round_trip():
    rng = random.Random(0)
    strings = [random_string(rng) for _ in range(3000)]
    text = dump({"values": strings, "keys": {s: i for i, s in enumerate(strings)}})
    for loader in LOADERS:
        loaded = yaml.load(text, Loader=loader)
        if not same({"values": strings, "keys": {s: i for i, s in enumerate(strings)}}, loaded):
            for string in strings:  # name the culprit
                assert_round_trip({string: string})
            pytest.fail(f"{loader.__name__}: the corpus does not round-trip")


def test_random_documents_round_trip():
    rng = random.Random(0)
    for _ in range(400):
        assert_round_trip(random_document(rng))


@pytest.mark.skipif(not hasattr(yaml, "CSafeDumper"), reason="libyaml not available")
def test_random_documents_are_written_as_pyyaml_wrote_them():
    """Byte for byte the text of the CSafeDumper configuration it replaces.

    Less U+2028/U+2029, which libyaml writes raw in single quotes and dump escapes in double quotes."""
    rng = random.Random(1)
    alphabet = [char for char in NASTY if char not in "\u2028\u2029"]
    for _ in range(400):
        document = random_document(rng, alphabet)
        assert dump(document) == pyyaml_dump(document), repr(document)


RULE_FILE = {
    "groups": [
        {
            "name": "slo-api-availability",
            "interval": "30s",
            "rules": [
                {
                    "record": "slo:sli_error:ratio_rate5m",
                    "expr": 'sum(rate(http_requests_total{job="api",code=~"5.."}[5m]))\n/\nsum(rate(http_requests_total{job="api"}[5m]))',
                    "labels": {"slo": "api-availability", "team": "sre"},
                },
                {
                    "alert": "APIErrorBudgetBurn",
                    "expr": "slo:sli_error:ratio_rate5m > (14.4 * 0.001)",
                    "for": "2m",
                    "labels": {"severity": "page", "version": "1.0", "enabled": "yes", "ratio": 0.001},
                    "annotations": {
                        "summary": "{{ $labels.job }} burns its error budget: {{ $value | humanizePercentage }}",
                        "description": "Error rate above 14.4x the budget.\nSee the runbook.\n",
                        "runbook_url": "https://runbooks.example.com/slo#api-availability",
                    },
                },
                {"record": "x:indented", "expr": "  leading spaces\nsecond line", "labels": {}},
            ],
        }
    ],
    "zeta": [],
    "alpha": {"on": None, "off": True, "nested": [["a", "b"], {"k": "it's"}], "tab": "a\tb"},
}

RULE_FILE_TEXT = """\
groups:
- name: slo-api-availability
  interval: 30s
  rules:
  - record: slo:sli_error:ratio_rate5m
    expr: |-
      sum(rate(http_requests_total{job="api",code=~"5.."}[5m]))
      /
      sum(rate(http_requests_total{job="api"}[5m]))
    labels:
      slo: api-availability
      team: sre
  - alert: APIErrorBudgetBurn
    expr: slo:sli_error:ratio_rate5m > (14.4 * 0.001)
    for: 2m
    labels:
      severity: page
      version: '1.0'
      enabled: 'yes'
      ratio: 0.001
    annotations:
      summary: '{{ $labels.job }} burns its error budget: {{ $value | humanizePercentage }}'
      description: |
        Error rate above 14.4x the budget.
        See the runbook.
      runbook_url: https://runbooks.example.com/slo#api-availability
  - record: x:indented
    expr: |2-
        leading spaces
      second line
    labels: {}
zeta: []
alpha:
  'on': null
  'off': true
  nested:
  - - a
    - b
  - k: it's
  tab: "a\\tb"
"""


def test_rule_file_layout():
    assert dump(RULE_FILE) == RULE_FILE_TEXT
    assert_round_trip(RULE_FILE)


def test_literal_block_chomping():
    assert dump({"a": "x\ny"}) == "a: |-\n  x\n  y\n"
    assert dump({"a": "x\ny\n"}) == "a: |\n  x\n  y\n"
    assert dump({"a": "x\n\n", "b": 1}) == "a: |+\n  x\n\nb: 1\n...\n"
    assert dump({"a": "\nx\n\ny"}) == "a: |2-\n\n  x\n\n  y\n"
    assert dump(["x\ny"]) == "- |-\n  x\n  y\n"
    assert dump({"k": {"a": "x\ny"}}) == "k:\n  a: |-\n    x\n    y\n"


def test_unrepresentable_blocks_are_double_quoted():
    assert dump({"a": "x  \ny"}) == 'a: "x  \\ny"\n'
    assert dump({"a": "x\ny "}) == 'a: "x\\ny "\n'
    assert dump({"a": "x\r\ny"}) == 'a: "x\\r\\ny"\n'
    assert dump({"a": "x\n\ty"}) == 'a: "x\\n\\ty"\n'


def test_a_long_line_is_never_folded():
    expr = " or ".join(f'sum(rate(http_requests_total{{job="svc-{i}"}}[5m]))' for i in range(12))
    assert len(expr) > 500
    assert dump({"expr": expr}) == f"expr: {expr}\n"
    quoted = "x: " + expr
    assert dump({"expr": quoted}) == f"expr: '{quoted}'\n"
    block = expr + "\n" + expr
    assert dump({"expr": block}) == f"expr: |-\n  {expr}\n  {expr}\n"


def test_keys_keep_their_order():
    document = {"z": 1, "a": 2, "m": {"y": 1, "b": 2}}
    assert dump(document) == "z: 1\na: 2\nm:\n  y: 1\n  b: 2\n"


def test_no_anchors_for_shared_objects():
    shared = {"severity": "page"}
    text = dump({"a": shared, "b": shared, "c": [shared, shared]})
    assert "&" not in text and "*" not in text
    assert yaml.safe_load(text) == {"a": shared, "b": shared, "c": [shared, shared]}


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"groups": [{"rules": [{}, {}, {}, {"expr": {1, 2}}]}]}, "set as YAML (at groups[0].rules[3].expr)"),
        ([object()], "object as YAML (at [0])"),
        (object(), "object as YAML (at the document root)"),
        ({"a.b": [1, {"x y": b"x"}]}, "bytes as YAML (at ['a.b'][1]['x y'])"),
        ({"labels": {("a", "b"): 1}}, "tuple key as YAML (at labels)"),
        ({"labels": {"x": 1, frozenset(): 1}}, "frozenset key as YAML (at labels)"),
    ],
)
def test_unsupported_types_name_the_path(document, message):
    with pytest.raises(TypeError, match=r"^cannot write a ") as raised:
        dump(document)
    assert message in str(raised.value)


def test_a_lone_surrogate_is_an_error():
    """It has no UTF-8 encoding (PyYAML failed on it too), and libyaml rejects a `\\uD800` escape."""
    with pytest.raises(ValueError, match=r"^cannot write a str with a lone surrogate as YAML \(at a\[1\]\)"):
        dump({"a": ["x", "\ud800"]})
    with pytest.raises(ValueError, match=r"^cannot write a str key with a lone surrogate as YAML \(at a\)"):
        dump({"a": {"\udfff": 1}})


GENERATED_FILES = sorted(
    path.relative_to(GENERATED).as_posix() for pattern in ("*.yml", "*.yaml") for path in GENERATED.rglob(pattern)
)


@pytest.mark.skipif(not GENERATED_FILES, reason="no generated tree")
@pytest.mark.parametrize("name", GENERATED_FILES)
def test_generated_files_load_identically(name):
    text = (GENERATED / name).read_text(encoding="utf-8")
    document = fast_safe_load(text)
    assert same(document, fast_safe_load(dump(document)))
    # And the text itself, after the notice comment, is what dump writes.
    lines = text.splitlines(keepends=True)
    while lines and lines[0].startswith("#"):
        del lines[0]
    assert dump(document) == "".join(lines)
