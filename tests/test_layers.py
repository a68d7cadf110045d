"""The package's layers (README, "The library"): each module imports only from its own layer or
the ones below it, and no modules import each other in a circle. Read from the syntax trees (the
same walk as the cache key's, :func:`swao.book.fingerprint.imported_modules`), imports inside
functions included."""
from swao.book import fingerprint as cache

# bottom to top: the paper's method, training, our additions, the book, then its renderers and the CLI
LAYERS = ("method", "training", "ours", "book", "render", "cli")


def layer(module: str) -> int:
    parts = module.split(".")
    return -1 if len(parts) == 1 else LAYERS.index(parts[1])  # -1: the package itself (its version)


def graph() -> dict[str, set[str]]:
    return {m: cache.imported_modules(m) for m in cache.package_modules()}


def test_every_module_belongs_to_a_layer():
    assert all(m == "swao" or m.split(".")[1] in LAYERS for m in cache.package_modules())


def test_no_module_imports_from_a_layer_above_its_own():
    up = sorted(f"{m} imports {d}" for m, deps in graph().items() for d in deps if layer(d) > layer(m))
    assert not up, "upward imports:\n" + "\n".join(up)


def test_no_import_circle():
    g, state, circles = graph(), {}, []

    def visit(m: str, path: list[str]) -> None:
        state[m] = "open"
        for d in sorted(g[m]):
            if state.get(d) == "open":
                circles.append(" -> ".join(path[path.index(d):] + [d]))
            elif d not in state:
                visit(d, path + [d])
        state[m] = "done"

    for m in sorted(g):
        if m not in state:
            visit(m, [m])
    assert not circles, "import circles:\n" + "\n".join(circles)


def test_the_walk_sees_every_kind_of_import(tmp_path):
    import ast

    tree = ast.parse("import swao.method.model\nfrom swao.training import config\nfrom ..ours.table2 import run_search\n"
                     "def f():\n    from swao.render.tables import Table\n")
    assert cache.imported_modules("swao.book.example", tree) == {
        "swao.method.model", "swao.training", "swao.training.config", "swao.ours.table2", "swao.render.tables"}


def test_the_readmes_module_table_names_every_module():
    """The README's table of the library is how a newcomer finds a module: every module is in it."""
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    table = readme[readme.index("| **`swao.method`**"):readme.index("Command line (after")]
    named = set(re.findall(r"`([a-z_0-9]+)`", table))
    missing = sorted(m for m in cache.package_modules() if m.count(".") == 2 and m.split(".")[2] not in named | {"__main__"})
    assert not missing, f"not in the README's module table: {missing}"
