"""nbval really guards the notebooks: a changed printed number makes the check fail."""
import json
import re
from pathlib import Path

from nbval_fixture import nbval

HERE = Path(__file__).resolve().parent
NOTEBOOKS = sorted((HERE / "notebooks").glob("*.ipynb"))
SOURCES = sorted((HERE.parent / "notebooks").glob("*.ipynb"))


def test_every_source_notebook_has_an_executed_copy():
    assert [p.name for p in NOTEBOOKS] == [p.name for p in SOURCES], "run `make nbval-refresh`"
    for src in SOURCES:
        nb = json.loads(src.read_text())
        assert not any(c.get("outputs") for c in nb["cells"] if c["cell_type"] == "code"), f"{src} has outputs"
        assert sum("parameters" in c.get("metadata", {}).get("tags", []) for c in nb["cells"]) == 1


def _pick_notebook_with_table():
    """The executed notebook whose output holds a table of numbers (the one to tamper with)."""
    for path in NOTEBOOKS:
        nb = json.loads(path.read_text())
        for cell in nb["cells"]:
            for out in cell.get("outputs", []):
                text = "".join(out.get("data", {}).get("text/plain", "")) if "data" in out else "".join(out.get("text", ""))
                if "| D1 |" in text:
                    return path
    return NOTEBOOKS[0]


def test_a_changed_number_fails_nbval(tmp_path):
    src = _pick_notebook_with_table()
    nb = json.loads(src.read_text())
    changed = False
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            key = "text" if out.get("output_type") == "stream" else None
            if key is None and "data" in out and "text/plain" in out["data"]:
                holder, key = out["data"], "text/plain"
            else:
                holder = out
            if key is None or changed:
                continue
            text = "".join(holder[key])
            m = re.search(r"\d+\.\d+", text) if "| D1 |" in text or src == NOTEBOOKS[0] else None
            if m:
                old = m.group(0)
                new = old[:-1] + str((int(old[-1]) + 1) % 10)
                holder[key] = text[: m.start()] + new + text[m.end():]
                changed = True
    assert changed, "found no number to change"
    # first the untouched copy passes: a guard is only a guard where nbval is green
    good = nbval([src])
    assert good.returncode == 0, f"the untouched {src.name} fails nbval:\n{good.stdout[-3000:]}"
    bad = tmp_path / src.name
    bad.write_text(json.dumps(nb))
    result = nbval([bad], cwd=tmp_path)
    assert result.returncode != 0, result.stdout[-2000:]
    assert "1 failed" in result.stdout, result.stdout[-2000:]
