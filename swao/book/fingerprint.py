"""Which code a cached result depends on: its code fingerprint, part of its cache key.

A result's key holds the fingerprint of the code that computes it: the module that computes a
kind of result (the one that calls ``cached(kind, ...)``) and every swao module it imports,
directly or not, read from their syntax trees. A change there is a new "version" of the
computation, so old results are not reused by mistake; a change anywhere else (a renderer, the
search for an autoencoder's key, prose) keeps every key. The modules of :data:`LEFT_OUT` are not
followed: they decide where results are stored and who made them, not what they are.
"""
from __future__ import annotations

import ast
import functools
import hashlib
from pathlib import Path

from swao import __version__
from swao.training.config import Config

PACKAGE = Path(__file__).resolve().parent.parent  # swao/
ROOT = PACKAGE.parent
LEFT_OUT = ("swao.book.cache", "swao.book.fingerprint", "swao.book.provenance")


def module_file(name: str) -> Path:
    """The source file of a swao module (``"swao.method.model"`` -> ``swao/method/model.py``)."""
    path = PACKAGE.parent.joinpath(*name.split("."))
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def is_module(name: str) -> bool:
    """Whether ``name`` is a module of the swao package."""
    return name.split(".")[0] == "swao" and module_file(name).exists()


def imported_modules(name: str, tree: ast.Module | None = None) -> set[str]:
    """The swao modules that module ``name`` imports anywhere in its code (at its top or inside a
    function): ``import swao.a.b``, ``from swao.a import b`` (a module or a name in it), relative
    imports alike."""
    tree = tree or ast.parse(module_file(name).read_bytes())
    package = name if module_file(name).name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if is_module(a.name)}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            if is_module(base):
                found.add(base)
            found |= {f"{base}.{a.name}" for a in node.names if is_module(f"{base}.{a.name}")}
    return found - {name}


def dependencies(name: str) -> tuple[str, ...]:
    """``name`` and every swao module it imports, directly or through others (sorted; the modules
    of :data:`LEFT_OUT` are not followed)."""
    seen, todo = set(), [name]
    while todo:
        m = todo.pop()
        if m in seen or m in LEFT_OUT:
            continue
        seen.add(m)
        todo.extend(imported_modules(m))
    return tuple(sorted(seen))


def package_modules() -> list[str]:
    """Every module of the swao package, by dotted name."""
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


@functools.lru_cache(maxsize=1)
def kind_modules() -> dict[str, str]:
    """``{kind: module}``: the module that computes each kind of cached result, found as the one
    whose code calls ``cached("kind", ...)``."""
    kinds = {}
    for name in package_modules():
        for node in ast.walk(ast.parse(module_file(name).read_bytes())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "cached" \
                    and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                kinds[node.args[0].value] = name
    return kinds


def code_modules(kind: str | None = None) -> tuple[str, ...]:
    """The modules whose code a result of ``kind`` depends on: its computing module's
    :func:`dependencies`; for a kind the package does not compute, those of every kind."""
    roots = kind_modules()
    if kind in roots:
        return dependencies(roots[kind])
    return tuple(sorted({m for root in roots.values() for m in dependencies(root)}))


@functools.lru_cache(maxsize=None)
def code_fingerprint(kind: str | None = None) -> str:
    """Hash of the code of the modules ``kind`` depends on (:func:`code_modules`): part of every
    cache key of that kind."""
    h = hashlib.sha256(__version__.encode())
    for name in code_modules(kind):
        h.update(name.encode())
        h.update(fingerprinted(name, module_file(name).read_bytes()))
    return h.hexdigest()[:16]


SCALES_TABLE = "_SCALES"  # the configuration module's table of scales (swao.training.config)


def _assigns(node: ast.stmt, name: str) -> bool:
    """Whether a module-level statement assigns ``name`` (``name = ...`` or ``name: T = ...``)."""
    targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
    return any(isinstance(t, ast.Name) and t.id == name for t in targets)


def fingerprinted(name: str, source: bytes) -> bytes:
    """What of a module's source enters the code fingerprint: its code, not its prose. The
    source is parsed and its syntax tree dumped without comments (the parser drops them),
    docstrings (a string standing alone as a module's, class's or function's first statement) or
    positions, so that editing prose or layout keeps every cache key and editing code changes
    it. The configuration's table of scales is left out too: its values are part of every cache
    key already (so that retuning a scale keeps the results that do not depend on what changed).
    The dump is Python's own ``ast.dump`` (the project runs on one Python minor version)."""
    tree = ast.parse(source)
    if name == Config.__module__:  # the table of scales, found by its name
        tree.body = [node for node in tree.body if not _assigns(node, SCALES_TABLE)]
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and body \
                and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
            node.body = body[1:] or [ast.Pass()]
    return ast.dump(tree, annotate_fields=False, include_attributes=False).encode()


__all__ = ["PACKAGE", "ROOT", "LEFT_OUT", "module_file", "is_module", "imported_modules", "dependencies", "package_modules",
           "kind_modules", "code_modules", "code_fingerprint", "SCALES_TABLE", "fingerprinted"]
