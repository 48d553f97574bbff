"""Fuzz rule-file validation: `parse_document` + `validate_document`, and `braze-adapter validate`.

Inputs: the example rule files with their text mutated (lines deleted, duplicated, swapped,
re-indented; scalars replaced by numbers, booleans, nulls, lists, huge strings, random JSONata-ish
`{% %}` text; unknown keys), random YAML/JSON structures, invalid UTF-8 and empty files.

Property: a file is either accepted, or rejected with located problems (a file name, a line >= 1, a
message) through `RuleFileError` or the returned problem list; never any other exception. The CLI
exits 0 or 1 and prints `FILE:LINE: ...` per problem (or `FILE: ok (...)`), never a traceback.

The bugs these tests found are pinned as regression tests at the end of this module: a scalar
`rules:`, nesting deeper than the loader accepts, recursive YAML aliases, JSONata operators the
parser does not know, unreadable `event_file:` names, control characters in YAML, and line breaks in
keys. The main properties check every input; none is skipped.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import resource
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import event, example, given, note, settings
from hypothesis import strategies as st

from adapter.cli import main as cli_main
from mapping.exceptions import ExpressionError, Problem, RuleFileError
from mapping.expressions import compile_expression
from mapping.loader import MAX_NESTING, parse_document
from mapping.validation import validate_document

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES_DIR = ROOT / "examples" / "rules"
EXAMPLES = sorted(EXAMPLES_DIR.glob("*.yaml"))
TEXTS = [(path.name, path.read_text(encoding="utf-8")) for path in EXAMPLES]


def fuzz(examples: int) -> settings:
    scale = float(os.environ.get("HYPOTHESIS_FUZZ_SCALE", "1"))
    return settings(settings.get_profile("braze-webhook-adapter-fuzz"), max_examples=max(1, int(examples * scale)))


# --- strategies -------------------------------------------------------------------------------------

RULE_KEYS = [
    "version", "source", "description", "verify", "preset", "secrets", "tolerance_seconds", "event_id",
    "event_type", "destination", "endpoint", "api_key", "rules", "tests", "id", "when", "for_each",
    "idempotency_key", "on_missing_recipient", "on_ambiguous", "campaign", "canvas", "campaign_id", "canvas_id",
    "send_id", "trigger_properties", "context", "canvas_entry_properties", "broadcast", "audience", "attachments",
    "recipient", "external_user_id", "user_alias", "alias_name", "alias_label", "email", "prioritization",
    "send_to_existing_only", "attributes", "name", "event", "event_file", "headers", "query", "received_at",
    "expect", "expect_errors", "path", "body", "rule", "message", "header", "algorithm", "encoding", "prefix",
]  # fmt: skip

JSONATA_TOKENS = [
    "$", "$$", "$.id", "type", "data.object.id", "$item", "$index", "$eventId", "$headers.x", "$query",
    "'a'", '"b"', "0", "1.5", "-3", "1e308", "9007199254740993", "true", "false", "null", "()", "(", ")",
    "[", "]", "{", "}", ",", ":", ";", ".", "..", "=", "!=", "<", ">=", "and", "or", "in", "&", "?", "?:", "??",
    "+", "-", "*", "/", "%", "**", "~>", "@", "#", "^(", "|", "$string(", "$number(", "$sum(", "$map(",
    "$fromMillis(", "$uppercase(", "$exists(", "$now()", "$millis()", "$random()", "$uuid()", "function($x){",
    "$x", ":=", "\\", "`weird key`", "%}", "{%", "\n", " ",
]  # fmt: skip

huge_strings = st.sampled_from([50_000, 200_000]).map(lambda n: "x" * n)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(["", "~", "null", "yes", "no", "on", "2026-01-01", "0x1F", "1_000", ".inf", "-.nan", "{%%}"]),
)
jsonata_ish = st.lists(st.sampled_from(JSONATA_TOKENS) | st.text(max_size=4), min_size=0, max_size=12).map(
    lambda tokens: "{% " + " ".join(tokens) + " %}"
)
keys = st.sampled_from(RULE_KEYS) | st.text(max_size=12)
json_values = st.recursive(
    scalars | jsonata_ish,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=5),
    max_leaves=25,
)


def _yaml_flow(value: Any) -> str:
    """A value as YAML flow text (JSON is YAML flow syntax; NaN/inf need YAML spellings)."""
    try:
        return json.dumps(value, allow_nan=False)
    except ValueError:
        return yaml.safe_dump(value, default_flow_style=True, width=10**9).strip().removesuffix("...").strip()


replacement_values = st.one_of(
    scalars.map(_yaml_flow),
    jsonata_ish.map(json.dumps),  # a quoted `{% ... %}` string
    jsonata_ish,  # the same, unquoted (often invalid YAML)
    st.lists(scalars, max_size=3).map(_yaml_flow),
    st.dictionaries(keys, scalars, max_size=3).map(_yaml_flow),
    huge_strings,
    st.text(max_size=20),  # raw text: anything YAML makes of it
)

_VALUE_LINE = re.compile(r"^(\s*(?:- )?[\w-]+:[ ]+)(\S.*)$")


@st.composite
def mutated_example_text(draw: st.DrawFn) -> tuple[str, str]:
    """(file name, text): an example rule file with 1 to 6 text mutations."""
    name, text = draw(st.sampled_from(TEXTS))
    lines = text.split("\n")
    for _ in range(draw(st.integers(1, 6))):
        if not lines:
            lines = [""]
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(
            st.sampled_from(
                ["delete", "duplicate", "swap", "indent", "dedent", "tab", "scalar", "scalar", "scalar",
                 "unknown_key", "insert_text", "truncate", "delete_block"]
            )
        )  # fmt: skip
        note(f"{op} at line {i + 1}: {lines[i][:80]!r}")
        if op == "delete":
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "indent":
            lines[i] = " " * draw(st.integers(1, 6)) + lines[i]
        elif op == "dedent":
            lines[i] = lines[i][draw(st.integers(1, 6)) :] if lines[i].startswith(" ") else lines[i]
        elif op == "tab":
            lines[i] = "\t" + lines[i].lstrip(" ")
        elif op == "scalar":
            candidates = [k for k, line in enumerate(lines) if _VALUE_LINE.match(line)]
            k = draw(st.sampled_from(candidates)) if candidates else i
            match = _VALUE_LINE.match(lines[k])
            if match:
                lines[k] = match.group(1) + draw(replacement_values)
                note(f"  -> line {k + 1}: {lines[k][:80]!r}")
        elif op == "unknown_key":
            indent = len(lines[i]) - len(lines[i].lstrip(" "))
            key = draw(st.sampled_from(RULE_KEYS) | st.from_regex(r"[a-z_][a-z0-9_]{0,10}", fullmatch=True))
            lines.insert(i + 1, " " * indent + f"{key}: " + draw(replacement_values))
        elif op == "insert_text":
            lines.insert(i, draw(st.text(max_size=40)))
        elif op == "truncate":
            lines = lines[:i] + [lines[i][: draw(st.integers(0, len(lines[i])))]]
        elif op == "delete_block":
            del lines[i : i + draw(st.integers(2, 15))]
    return name, "\n".join(lines)


documents = json_values | st.fixed_dictionaries(
    {},
    optional={
        "version": st.sampled_from([1, 2, "1", None]) | scalars,
        "source": st.sampled_from(["fuzz", "Fuzz", "", "x" * 70]) | scalars,
        "verify": st.fixed_dictionaries(
            {"preset": st.sampled_from(["none", "stripe", "hmac", "standard-webhooks", "nope"]) | scalars},
            optional={
                "secrets": st.lists(st.sampled_from(["env:FUZZ", "secretsmanager:a#b", "ssm:/x", "plain"]))
                | json_values,
                "tolerance_seconds": scalars,
                "header": scalars,
                "algorithm": scalars,
                "encoding": scalars,
                "prefix": scalars,
            },
        )
        | json_values,
        "event_id": jsonata_ish | scalars,
        "rules": st.lists(
            st.fixed_dictionaries(
                {"id": st.sampled_from(["a", "b", "A", "1"]) | scalars},
                optional={
                    "when": jsonata_ish | scalars,
                    "for_each": jsonata_ish | json_values,
                    "idempotency_key": jsonata_ish | scalars,
                    "on_missing_recipient": st.sampled_from(["fail", "skip", "maybe"]) | scalars,
                    "campaign": json_values
                    | st.fixed_dictionaries(
                        {"campaign_id": scalars | jsonata_ish},
                        optional={"broadcast": scalars, "recipient": json_values, "audience": json_values},
                    ),
                    "canvas": json_values,
                },
            )
            | json_values,
            max_size=3,
        )
        | json_values,
        "tests": st.lists(
            st.fixed_dictionaries(
                {"name": scalars},
                optional={"event": json_values, "event_file": scalars, "expect": json_values},
            ),
            max_size=2,
        )
        | json_values,
    },
)


@st.composite
def random_document_text(draw: st.DrawFn) -> tuple[str, str]:
    """(file name, text) for a random structure written as YAML (block or flow) or JSON."""
    data = draw(documents)
    style = draw(st.sampled_from(["yaml", "yaml-flow", "json", "json-as-yaml"]))
    if style in ("json", "json-as-yaml"):
        text = json.dumps(data, indent=draw(st.sampled_from([None, 2])), ensure_ascii=draw(st.booleans()))
        return ("fuzz.json" if style == "json" else "fuzz.yaml"), text
    text = yaml.safe_dump(data, default_flow_style=style == "yaml-flow", allow_unicode=draw(st.booleans()))
    return draw(st.sampled_from(["fuzz.yaml", "fuzz.yml"])), text


EMPTY_TEXTS = ["", "\n", "   \n\t\n", "---\n", "# only a comment\n", "null", "~", "[]", "{}", "0", "''", "...\n"]
rule_texts = (
    mutated_example_text()
    | random_document_text()
    | st.tuples(st.sampled_from(["fuzz.yaml", "fuzz.json"]), st.sampled_from(EMPTY_TEXTS) | st.text(max_size=60))
)


# --- the properties ---------------------------------------------------------------------------------


def _check_problem(problem: Problem, name: str) -> None:
    assert isinstance(problem, Problem), problem
    assert problem.file == name, problem
    assert isinstance(problem.line, int) and problem.line >= 1, problem
    assert isinstance(problem.message, str) and problem.message.strip(), problem
    assert problem.severity in ("error", "warning"), problem
    assert str(problem).startswith(f"{name}:{problem.line}: "), problem
    assert "\n" not in str(problem), f"a problem must print as one line: {str(problem)[:300]!r}"


def check_validation(text: str, name: str) -> None:
    try:
        document = parse_document(text, name)
    except RuleFileError as exc:
        assert exc.problems, "a RuleFileError must carry at least one problem"
        for problem in exc.problems:
            _check_problem(problem, name)
        event("rejected while parsing")
        return
    for problem in document.problems:
        _check_problem(problem, name)
    model, problems = validate_document(document, check_files=True)
    for problem in problems:
        _check_problem(problem, name)
    errors = [p for p in problems if p.severity == "error"]
    assert (model is None) == bool(errors), (model, errors)
    event("accepted" if model is not None else "rejected by validation")


@fuzz(120)
@given(mutated_example_text())
@example(("stripe.yaml", TEXTS[[n for n, _ in TEXTS].index("stripe.yaml")][1]))
def test_mutated_example_files_are_accepted_or_get_located_problems(case):
    file_name, text = case
    name = str(EXAMPLES_DIR / file_name)  # event_file: paths in tests resolve to the real events
    check_validation(text, name)


@fuzz(90)
@given(random_document_text())
@example(("fuzz.yaml", ""))
@example(("fuzz.json", ""))
@example(("fuzz.yaml", "- just\n- a list\n"))
@example(("fuzz.json", '{"version": 1, "version": 1}'))
def test_random_structures_are_accepted_or_get_located_problems(case):
    name, text = case
    check_validation(text, name)


@pytest.mark.parametrize("text", EMPTY_TEXTS)
@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_empty_and_trivial_files_get_a_located_problem(text, suffix):
    name = f"rules/fuzz{suffix}"
    try:
        model, problems = validate_document(parse_document(text, name))
    except RuleFileError as exc:
        problems, model = exc.problems, None
    assert model is None and problems
    for problem in problems:
        _check_problem(problem, name)


# --- the CLI ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz-validate")


@st.composite
def file_bytes(draw: st.DrawFn) -> tuple[str, bytes]:
    """(file name, raw bytes): rule texts, some with invalid UTF-8 spliced in."""
    name, text = draw(rule_texts)
    raw = text.encode("utf-8")
    if draw(st.integers(0, 3)) == 0:
        bad = draw(st.sampled_from([b"\xff", b"\xc3(", b"\xed\xa0\x80", b"\xf0\x28\x8c\x28", b"\x80\x80", b"\xfe\xff"]))
        at = draw(st.integers(0, len(raw)))
        raw = raw[:at] + bad + raw[at:]
    return name, raw


def run_cli(path: Path) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = cli_main(["validate", str(path)])
    return code, out.getvalue()


@fuzz(90)
@given(file_bytes())
@example(("fuzz.yaml", b""))
@example(("fuzz.yaml", b"\xff\xfe\x00"))
@example(("fuzz.json", b"\xef\xbb\xbf{}"))
def test_cli_validate_exits_0_or_1_with_located_lines(workdir, case):
    file_name, raw = case
    path = workdir / file_name
    path.write_bytes(raw)
    code, out = run_cli(path)
    assert code in (0, 1), (code, out)
    lines = out.split("\n")
    assert lines[-1] == "", "output ends with a newline"
    problem_line = re.compile(rf"^{re.escape(str(path))}:(\d+): ")
    ok_line = re.compile(rf"^{re.escape(str(path))}: ok \(\d+ rules, \d+ tests\)$")
    for line in lines[:-1]:
        match = problem_line.match(line)
        assert match or ok_line.match(line), f"not a FILE:LINE: or FILE: ok line: {line[:300]!r}"
        if match:
            assert int(match.group(1)) >= 1, line
    if code == 0:
        assert ok_line.match(lines[-2]), out[-300:]
    else:
        assert any(problem_line.match(line) and ": warning: " not in line for line in lines), out[-300:]


# --- regressions: bugs these tests found -------------------------------------------------------------

HEADER = "version: 1\nsource: fuzz\nverify: {preset: none}\n"
CAMPAIGN = "    campaign: {campaign_id: c, broadcast: true}\n"
BROADCAST_RULE = "rules:\n  - id: a\n" + CAMPAIGN


def rejected(text: str, name: str, *, check_files: bool = False) -> list[Problem]:
    """The errors that reject `text`, from parsing or from validation; every problem well-formed."""
    try:
        document = parse_document(text, name)
    except RuleFileError as exc:
        problems = exc.problems
    else:
        model, problems = validate_document(document, check_files=check_files)
        assert model is None, problems
    for problem in problems:
        _check_problem(problem, name)
    return [p for p in problems if p.severity == "error"]


def located(problems: list[Problem]) -> list[tuple[int, str]]:
    return [(p.line, p.path) for p in problems]


@pytest.mark.parametrize("value", ["5", "true", "1.5"])
def test_rules_that_is_a_scalar_is_a_located_problem(value):
    errors = rejected(f"{HEADER}rules: {value}\n", "rules/fuzz.yaml")
    assert located(errors) == [(4, "rules")]
    assert "list" in errors[0].message


@pytest.mark.parametrize(
    ("name", "text", "line"),
    [
        ("rules/fuzz.yaml", "- " * 20_000 + "x\n", 1),  # 40 KB of nested block sequences
        ("rules/fuzz.json", "[" * 20_000 + "]" * 20_000, 1),
        ("rules/fuzz.yaml", f"{HEADER}rules:\n" + "- " * MAX_NESTING + "x\n", 5),  # the mapping is one level
        ("rules/fuzz.json", '{\n  "version": 1,\n  "rules":\n' + "[" * MAX_NESTING + "]" * MAX_NESTING + "}", 4),
    ],
    ids=["yaml", "json", "yaml-one-too-deep", "json-one-too-deep"],
)
def test_deeply_nested_rule_file_is_a_located_problem(name, text, line):
    errors = rejected(text, name)
    assert [(p.line, p.message) for p in errors] == [(line, f"nested more than {MAX_NESTING} levels deep")]


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("rules/fuzz.yaml", "- " * MAX_NESTING + "x\n"),
        (
            "rules/fuzz.json",
            '["[[[", ' + "[" * (MAX_NESTING - 1) + "]" * (MAX_NESTING - 1) + "]",
        ),  # brackets in strings do not count
    ],
    ids=["yaml", "json"],
)
def test_nesting_up_to_the_limit_still_parses(name, text):
    assert parse_document(text, name).data


@pytest.mark.parametrize(
    ("expression", "operator"), [("!", "!"), ("!data.object.livemode", "!"), ("amount ! 100", "!"), ("a ~ b", "~")]
)
def test_expression_with_an_unknown_operator_does_not_compile(expression, operator):
    text = f'{HEADER}rules:\n  - id: a\n    when: "{{% {expression} %}}"\n{CAMPAIGN}'
    errors = rejected(text, "rules/fuzz.yaml")
    assert [(p.line, p.path, p.message) for p in errors] == [
        (6, "rules[0].when", f"expression does not compile: unknown operator {operator!r}")
    ]
    with pytest.raises(ExpressionError, match="unknown operator"):  # what ingress (store.get) relies on
        compile_expression(expression)


def problems_in_a_child(text: str, name: str) -> list[str]:
    """Parse and validate in a child process with a 1 GB address-space cap and a 30 s limit, so an
    input that loops or explodes cannot take the test run down with it; the printed problems."""
    script = textwrap.dedent(
        """
        import json, resource, sys
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
        from mapping.exceptions import RuleFileError
        from mapping.loader import parse_document
        from mapping.validation import validate_document
        text, name = json.load(sys.stdin)
        try:
            problems = validate_document(parse_document(text, name), check_files=False)[1]
        except RuleFileError as exc:
            problems = exc.problems
        print(json.dumps([str(p) for p in problems]))
        """
    )
    assert resource.RLIMIT_AS  # POSIX only
    try:
        result = subprocess.run(
            [sys.executable, "-c", script], input=json.dumps([text, name]), capture_output=True, text=True, timeout=30
        )
    except subprocess.TimeoutExpired:
        pytest.fail("parse_document + validate_document did not finish within 30 s")
    assert result.returncode == 0, result.stderr[-500:]
    return json.loads(result.stdout)


@pytest.mark.parametrize(
    ("text", "line"),
    [("a: &x [*x]\n", 1), ("version: 1\nrules: &x\n  - id: a\n    nested: {again: *x}\n", 4)],
    ids=["self", "nested"],
)
def test_recursive_yaml_alias_is_a_located_problem(text, line):
    assert problems_in_a_child(text, "rules/fuzz.yaml") == [
        f"rules/fuzz.yaml:{line}: recursive alias *x: the value would contain itself"
    ]


def test_yaml_alias_bomb_is_refused_quickly():
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]  # ten times more values at every level: 10**9 in all
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    (problem,) = problems_in_a_child("\n".join(lines) + "\n", "rules/fuzz.yaml")
    assert re.match(r"^rules/fuzz\.yaml:\d+: expands to more than 200,000 values", problem), problem


def test_shared_yaml_aliases_still_work():
    document = parse_document("a: &x {b: [1, 2]}\nc: *x\nd: [*x, *x]\n", "rules/fuzz.yaml")
    assert document.data == {"a": {"b": [1, 2]}, "c": {"b": [1, 2]}, "d": [{"b": [1, 2]}, {"b": [1, 2]}]}
    assert document.line_of(("d", 1, "b")) == 1  # a problem inside an alias points at its anchor


def test_event_file_name_too_long_is_a_located_problem(tmp_path):
    text = f"{HEADER}{BROADCAST_RULE}tests:\n  - name: t\n    event_file: {'x' * 300}.json\n    expect: []\n"
    name = str(tmp_path / "fuzz.yaml")  # an existing directory: the long component is then looked up
    errors = rejected(text, name, check_files=True)
    assert [(p.line, p.path, p.message) for p in errors] == [
        (9, "tests[0].event_file", "event file unreadable: File name too long")
    ]


def test_event_file_name_with_a_line_break_prints_on_one_line(tmp_path):
    text = f'{HEADER}{BROADCAST_RULE}tests:\n  - name: t\n    event_file: "a\\nb.json"\n    expect: []\n'
    name = str(tmp_path / "fuzz.yaml")
    (error,) = rejected(text, name, check_files=True)
    assert str(error) == f"{name}:9: tests[0].event_file: event file not found: {tmp_path}/a\\nb.json"


@pytest.mark.parametrize(
    ("raw", "line", "code"),
    [
        (b"version: 1\nsource: fuzz\x1f\n", 2, "001f"),
        (b"\x7fversion: 1\n", 1, "007f"),
        (b"a: 1\r\nb: 2\r\n\r\nc: '\x00'\r\n", 4, "0000"),
    ],
    ids=["x1f", "x7f", "nul-crlf"],
)
def test_control_character_in_yaml_is_one_located_line(tmp_path, raw, line, code):
    path = tmp_path / "fuzz.yaml"
    path.write_bytes(raw)
    assert run_cli(path) == (
        1,
        f"{path}:{line}: invalid YAML: unacceptable character #x{code}: special characters are not allowed\n",
    )


def test_key_with_a_line_break_is_quoted_in_the_field_path(tmp_path):
    path = tmp_path / "fuzz.yaml"
    path.write_text(f'{HEADER}rules:\n  - id: a\n    "bad\\nkey": 1\n{CAMPAIGN}')
    assert run_cli(path) == (1, f"{path}:6: rules[0].'bad\\nkey': unknown key 'bad\\nkey'\n")


def test_expression_error_quoting_a_line_break_prints_on_one_line():
    text = f'{HEADER}rules:\n  - id: a\n    when: "{{% 1 \\"a\\nb\\" %}}"\n{CAMPAIGN}'
    (error,) = rejected(text, "rules/fuzz.yaml")
    assert str(error).startswith("rules/fuzz.yaml:6: rules[0].when: expression does not compile: Syntax error: a\\nb")


@pytest.mark.parametrize("value", ["!!int abc", "!!float abc", "!!bool maybe", "!!timestamp 2026-13-45"])
def test_explicit_yaml_tag_with_a_bad_value_is_a_located_problem(value):
    errors = rejected(f"{HEADER}rules: []\nevent_id: {value}\n", "rules/fuzz.yaml")
    assert located(errors) == [(5, "")]
    assert errors[0].message.startswith("invalid YAML: the value is not a valid tag:yaml.org,2002:")
