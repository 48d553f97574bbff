"""Fuzz rule-file validation: `parse_document` + `validate_document`, and `braze-adapter validate`.

Inputs: the example rule files with their text mutated (lines deleted, duplicated, swapped,
re-indented; scalars replaced by numbers, booleans, nulls, lists, huge strings, random JSONata-ish
`{% %}` text; unknown keys), random YAML/JSON structures, invalid UTF-8 and empty files.

Property: a file is either accepted, or rejected with located problems (a file name, a line >= 1, a
message) through `RuleFileError` or the returned problem list; never any other exception. The CLI
exits 0 or 1 and prints `FILE:LINE: ...` per problem (or `FILE: ok (...)`), never a traceback.

Known bugs are pinned by the strict xfail tests at the end of this module; the main properties skip
exactly the inputs those bugs are about (see `_known_bug`), so they keep checking everything else.
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
from hypothesis import assume, event, example, given, note, settings
from hypothesis import strategies as st

from adapter.cli import main as cli_main
from mapping.exceptions import Problem, RuleFileError
from mapping.expressions import compile_expression
from mapping.loader import parse_document
from mapping.syntax import expression_source
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


def _known_bug(text: str, name: str) -> str | None:
    """Name the pinned bug this input would hit (see the xfail tests below), else None.

    Only exactly those inputs are excluded from the main properties; if a bug is fixed, its xfail
    test starts passing (strict) and this filter must go.
    """
    if not name.endswith(".json") and yaml.reader.Reader.NON_PRINTABLE.search(text):
        return "yaml-reader-error-message"
    try:
        data = json.loads(text) if name.endswith(".json") else yaml.load(text, Loader=yaml.SafeLoader)
    except (ValueError, yaml.YAMLError, RecursionError):
        return None
    except Exception:  # e.g. an invalid date in YAML 1.1: our loader keeps dates as strings
        return None
    newline_key, cyclic = _scan(data)
    if cyclic:
        return "recursive-alias"
    if isinstance(data, dict):
        rules = data.get("rules")
        if rules and not isinstance(rules, str | list | dict):
            return "rules-not-iterable"
    if newline_key:
        return "newline-in-key"
    if isinstance(data, dict) and any(_compile_raises_key_error(source) for source in _expressions(data)):
        return "jsonata-key-error"
    if isinstance(data, dict) and _event_file_raises(data.get("tests"), Path(name).parent):
        return "event-file-name-too-long"
    return None


def _event_file_raises(tests: Any, base: Path) -> bool:
    for test in tests if isinstance(tests, list) else []:
        event_file = test.get("event_file") if isinstance(test, dict) else None
        if isinstance(event_file, str):
            try:
                (base / event_file).is_file()
            except OSError:
                return True
    return False


def _expressions(data: dict[Any, Any]) -> list[str]:
    """The `{% %}` sources validation compiles (everything but `tests:` and descriptions)."""
    found = []
    stack = [(value, key) for key, value in data.items() if key not in ("tests", "description")]
    while stack:
        node, key = stack.pop()
        if isinstance(node, dict):
            stack.extend((value, k) for k, value in node.items() if k != "description")
        elif isinstance(node, list):
            stack.extend((value, key) for value in node)
        elif (source := expression_source(node)) is not None:
            found.append(source)
    return found


def _compile_raises_key_error(source: str) -> bool:
    try:
        compile_expression(source)
    except KeyError:
        return True
    except Exception:
        return False
    return False


def _scan(value: Any) -> tuple[bool, bool]:
    """(some mapping key contains a line break, the structure refers to itself), without recursion."""
    newline_key = False
    on_path: set[int] = set()
    done: set[int] = set()
    stack: list[tuple[Any, bool]] = [(value, False)]
    while stack:
        node, leaving = stack.pop()
        if not isinstance(node, dict | list):
            continue
        if leaving:
            on_path.discard(id(node))
            done.add(id(node))
            continue
        if id(node) in on_path:
            return newline_key, True
        if id(node) in done:
            continue
        on_path.add(id(node))
        stack.append((node, True))
        if isinstance(node, dict):
            newline_key = newline_key or any("\n" in str(key) for key in node)
            stack.extend((child, False) for child in node.values())
        else:
            stack.extend((child, False) for child in node)
    return newline_key, False


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
    assume(_known_bug(text, name) is None)
    check_validation(text, name)


@fuzz(90)
@given(random_document_text())
@example(("fuzz.yaml", ""))
@example(("fuzz.json", ""))
@example(("fuzz.yaml", "- just\n- a list\n"))
@example(("fuzz.json", '{"version": 1, "version": 1}'))
def test_random_structures_are_accepted_or_get_located_problems(case):
    name, text = case
    assume(_known_bug(text, name) is None)
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
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    path = workdir / file_name
    assume(text is None or _known_bug(text, str(path)) is None)
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


# --- bugs found by these tests (strict xfail: they start failing loudly once fixed) --------------------


def _validate_strictly(text: str, name: str) -> None:
    """The contract: a RuleFileError or (model, problems); nothing else may escape."""
    try:
        document = parse_document(text, name)
    except RuleFileError:
        return
    validate_document(document, check_files=False)


@pytest.mark.xfail(
    strict=True,
    raises=TypeError,
    reason="bug: validation.py:_semantic_problems iterates `data.get('rules') or []`, so `rules: 5` "
    "(or true, or 1.5) raises TypeError instead of a located problem; the CLI prints a traceback",
)
@pytest.mark.parametrize("value", ["5", "true", "1.5"])
def test_bug_rules_that_is_a_scalar_crashes_validation(value):
    text = f"version: 1\nsource: fuzz\nverify: {{preset: none}}\nrules: {value}\n"
    _validate_strictly(text, "rules/fuzz.yaml")


@pytest.mark.xfail(
    strict=True,
    raises=RecursionError,
    reason="bug: loader.py:parse_document catches only yaml.YAMLError / json.JSONDecodeError, but yaml.compose "
    "(loader.py:_lines_and_duplicates) and json.loads (loader.py:_parse_json) recurse once per nesting level, "
    "so a 40 KB rule file nested 20,000 levels deep raises RecursionError instead of a located problem "
    "(`validate` prints a traceback; jsonata raises the interpreter's recursion limit to 10,000 at import, "
    "so ~5,000 levels suffice)",
)
@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("rules/fuzz.yaml", "- " * 20_000 + "x\n"),  # 40 KB of nested block sequences
        ("rules/fuzz.json", "[" * 20_000 + "]" * 20_000),
    ],
    ids=["yaml", "json"],
)
def test_bug_deeply_nested_rule_file_raises_recursion_error(name, text):
    try:
        _validate_strictly(text, name)
    except RecursionError as exc:  # re-raised without its 10,000-frame traceback (slow for pytest to render)
        raise RecursionError(str(exc)) from None


@pytest.mark.xfail(
    strict=True,
    raises=KeyError,
    reason="bug: expressions.py:Expression.__init__ (line 82) catches JException, RecursionError, ValueError, "
    "TypeError and IndexError from Jsonata(source), but the jsonata parser raises KeyError for an unknown "
    'operator character (`!`, `~`): `when: "{% !data.object.livemode %}"` crashes `validate` with a traceback '
    "instead of `expression does not compile`; the same file put in S3 would also crash ingress (store.get)",
)
@pytest.mark.parametrize("expression", ["!", "!data.object.livemode", "amount ! 100", "a ~ b"])
def test_bug_expression_with_an_unknown_operator_crashes_validation(expression):
    text = (
        "version: 1\nsource: fuzz\nverify: {preset: none}\nrules:\n  - id: a\n"
        f'    when: "{{% {expression} %}}"\n    campaign: {{campaign_id: c, broadcast: true}}\n'
    )
    _validate_strictly(text, "rules/fuzz.yaml")


@pytest.mark.xfail(
    strict=True,
    reason="bug: loader.py:_lines_and_duplicates walks the composed node graph without tracking visited "
    "nodes, so a self-referencing YAML alias (`a: &x [*x]`, 11 bytes) loops forever, growing the "
    "path tuple until MemoryError; `braze-adapter validate` hangs and exhausts memory",
)
def test_bug_recursive_yaml_alias_never_finishes():
    # Run in a child process with a 1 GB address-space cap and a time limit, so the bug cannot take
    # the test run down with it.
    script = textwrap.dedent(
        """
        import resource, sys
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
        from mapping.exceptions import RuleFileError
        from mapping.loader import parse_document
        from mapping.validation import validate_document
        try:
            validate_document(parse_document("a: &x [*x]\\n", "rules/fuzz.yaml"), check_files=False)
        except RuleFileError:
            pass
        """
    )
    assert resource.RLIMIT_AS  # POSIX only
    try:
        result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail("parse_document did not finish within 30 s")
    assert result.returncode == 0, result.stderr[-500:]


@pytest.mark.xfail(
    strict=True,
    raises=OSError,
    reason="bug: validation.py:_check_tests calls (base / event_file).is_file(), which raises OSError "
    "(ENAMETOOLONG) for a test `event_file:` with a path component over 255 bytes, instead of reporting "
    "`event file not found`; `validate` prints a traceback",
)
def test_bug_event_file_name_too_long_crashes_validation(tmp_path):
    text = (
        "version: 1\nsource: fuzz\nverify: {preset: none}\nrules:\n  - id: a\n"
        "    campaign: {campaign_id: c, broadcast: true}\ntests:\n"
        f"  - name: t\n    event_file: {'x' * 300}.json\n    expect: []\n"
    )
    name = str(tmp_path / "fuzz.yaml")  # an existing directory: the long component is then looked up
    try:
        document = parse_document(text, name)
    except RuleFileError:
        return
    validate_document(document, check_files=True)


@pytest.mark.xfail(
    strict=True,
    reason="bug: loader.py:parse_document formats a yaml ReaderError (a control character such as \\x1f, "
    "\\x7f or \\x00 anywhere in a .yaml file) with `str(exc)`, which spans two lines (`...not allowed\\n  in "
    '"<unicode string>", position N`), and always reports line 1; `validate` then prints a line that is '
    "not `FILE:LINE: ...`",
)
def test_bug_control_character_in_yaml_prints_a_two_line_problem(tmp_path):
    path = tmp_path / "fuzz.yaml"
    path.write_bytes(b"version: 1\nsource: fuzz\x1f\n")
    code, out = run_cli(path)
    assert code == 1
    for line in out.splitlines():
        assert re.match(rf"^{re.escape(str(path))}:\d+: ", line), line


@pytest.mark.xfail(
    strict=True,
    reason="bug: paths.py:format_loc / Problem.__str__ print a key's text verbatim, so a key containing a "
    "line break splits one problem over two output lines and breaks the `FILE:LINE: path: message` "
    "contract of `validate` (the message itself uses repr and is fine)",
)
def test_bug_key_with_newline_breaks_the_one_line_per_problem_output(tmp_path):
    path = tmp_path / "fuzz.yaml"
    path.write_text(
        'version: 1\nsource: fuzz\nverify: {preset: none}\nrules:\n  - id: a\n    "bad\\nkey": 1\n'
        "    campaign: {campaign_id: c, broadcast: true}\n"
    )
    code, out = run_cli(path)
    assert code == 1
    for line in out.splitlines():
        assert re.match(rf"^{re.escape(str(path))}:\d+: ", line), line
