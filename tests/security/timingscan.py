"""Static search for comparisons of secret material that are not constant-time (a plain helper module).

Flagged, when an operand *looks like* a signature, digest, secret, token or API key (by the names
it is built from) and no operand is a literal:

* ``==``, ``!=``, ``in``, ``not in`` (byte-by-byte, early exit);
* ``.startswith`` / ``.endswith`` / ``.find`` / ``.index`` / ``.count`` / ``.removeprefix``;
* a lookup keyed by presented material in a store of keys or tokens (``api_keys.get(presented)``,
  ``tokens[presented]``): a hash lookup then ``==``, not a constant-time check.

Names are also tainted within a function: a variable assigned from, or looping over, a signature,
digest, HMAC or secret looks like one too (``for want in expected: ... want == got`` is flagged).
Tokens and keys do not taint: idempotency keys and claim tokens are not secrets.

Comparing with a literal (``version == "v1"``, ``secret.startswith("whsec_")``) is not flagged:
a public constant has nothing to leak. What is left is either a finding or an allow-list entry with
the reason it is safe.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Finding", "looks_secret", "scan_file", "scan_source"]

_SECRET_PARTS = {
    "sig", "sigs", "signature", "signatures", "signed", "digest", "digests", "hmac", "mac", "macs",
    "secret", "secrets", "token", "tokens", "password", "passwd", "credential", "credentials",
    "expected", "candidate", "candidates", "bearer", "authorization", "auth", "apikey", "apikeys",
}  # fmt: skip
_TAINTING = {"sig", "sigs", "signature", "signatures", "digest", "digests", "hmac", "mac", "macs", "secret", "secrets",
             "expected", "candidate", "candidates", "password", "credential", "credentials"}  # fmt: skip
_PAIRS = {("api", "key"), ("api", "keys"), ("admin", "key"), ("access", "key"), ("private", "key")}
_PREFIX_CALLS = {"startswith", "endswith", "find", "rfind", "index", "rindex", "count", "removeprefix"}
_LOOKUP_CALLS = {"get", "pop", "setdefault", "__getitem__", "__contains__"}
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def _parts(identifier: str) -> list[str]:
    return [p for p in _CAMEL.sub("_", identifier).lower().split("_") if p]


def looks_secret(identifier: str) -> bool:
    parts = _parts(identifier)
    return bool(set(parts) & _SECRET_PARTS) or any(pair in zip(parts, parts[1:], strict=False) for pair in _PAIRS)


def _names(node: ast.AST) -> list[str]:
    found = []
    for child in ast.walk(node):
        if isinstance(child, ast.Name):
            found.append(child.id)
        elif isinstance(child, ast.Attribute):
            found.append(child.attr)
    return found


def _secretish(node: ast.AST, tainted: frozenset[str] = frozenset()) -> bool:
    return any(looks_secret(name) or name in tainted for name in _names(node))


def _tainting(node: ast.AST, tainted: frozenset[str]) -> bool:
    return any(set(_parts(name)) & _TAINTING or name in tainted for name in _names(node))


def _targets(node: ast.AST) -> set[str]:
    """Names a binding target rebinds (`a`, `a, b`, `*rest`; not the containers in `x[k] =`, `o.attr =`)."""
    if isinstance(node, ast.Name):
        return {node.id}
    if isinstance(node, ast.Tuple | ast.List):
        return set().union(*map(_targets, node.elts)) if node.elts else set()
    if isinstance(node, ast.Starred):
        return _targets(node.value)
    return set()


def _taint(function: ast.AST) -> frozenset[str]:
    """Names in `function` bound from (or iterating over) secret-looking values, to a fixed point."""
    tainted: set[str] = set()
    bindings = []
    for node in ast.walk(function):
        if isinstance(node, ast.Assign):
            bindings += [(target, node.value) for target in node.targets]
        elif isinstance(node, ast.AugAssign | ast.AnnAssign | ast.NamedExpr) and node.value is not None:
            bindings.append((node.target, node.value))
        elif isinstance(node, ast.For | ast.AsyncFor | ast.comprehension):
            bindings.append((node.target, node.iter))
    changed = True
    while changed:
        changed = False
        for target, value in bindings:
            names = _targets(target) - tainted
            if names and _tainting(value, frozenset(tainted)):
                tainted |= names
                changed = True
    return frozenset(tainted)


def _literal(node: ast.AST, constants: set[str]) -> bool:
    if isinstance(node, ast.Name) and node.id in constants:
        return True
    try:
        ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return isinstance(node, ast.Call) and _names(node.func) in (["len"], ["frozenset"], ["set"])
    return True


def _module_constants(tree: ast.Module) -> set[str]:
    """Module-level names bound to literals (``_SIGNED = ("body", "timestamp.body")``)."""
    names = set()
    for statement in tree.body:
        if isinstance(statement, ast.Assign | ast.AnnAssign) and statement.value is not None:
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            try:
                ast.literal_eval(statement.value)
            except (ValueError, TypeError, SyntaxError):
                literal = isinstance(statement.value, ast.Call) and _names(statement.value.func) == ["frozenset"]
                if not literal:
                    continue
            names.update(t.id for t in targets if isinstance(t, ast.Name))
    return names


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    kind: str
    code: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.kind}: {self.code}"


def scan_source(source: str, path: str = "<string>") -> list[Finding]:
    tree = ast.parse(source)
    constants = _module_constants(tree)
    findings = []

    def add(node: ast.AST, kind: str) -> None:
        findings.append(Finding(path, node.lineno, kind, ast.unparse(node)))

    scopes = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)]
    taint = {id(node): frozenset() for node in ast.walk(tree)}
    for scope in scopes:  # inner functions come later in the walk, so they see their own taint
        names = _taint(scope)
        for node in ast.walk(scope):
            taint[id(node)] = names

    for node in ast.walk(tree):
        tainted = taint[id(node)]

        def secretish(part: ast.AST, tainted: frozenset[str] = tainted) -> bool:
            return _secretish(part, tainted)

        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            risky = any(isinstance(op, ast.Eq | ast.NotEq | ast.In | ast.NotIn) for op in node.ops)
            if risky and any(map(secretish, operands)) and not any(_literal(o, constants) for o in operands):
                add(node, "comparison")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args:
            receiver, method, key = node.func.value, node.func.attr, node.args[0]
            if method in _PREFIX_CALLS and (secretish(receiver) or secretish(key)) and not _literal(key, constants):
                add(node, f"prefix check .{method}()")
            elif method in _LOOKUP_CALLS and secretish(receiver) and not _literal(key, constants):
                add(node, f"lookup .{method}() keyed by presented material")
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
            if secretish(node.value) and not _literal(node.slice, constants) and not isinstance(node.slice, ast.Slice):
                add(node, "lookup [] keyed by presented material")
    return findings


def scan_file(path: Path, root: Path) -> list[Finding]:
    return scan_source(path.read_text(encoding="utf-8"), str(path.relative_to(root)))
