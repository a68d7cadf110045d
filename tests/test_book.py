"""The rendered book: built from the committed smoke-scale notebooks, it holds every table and
figure of the paper with its caption; where Chromium exists, the intro page is not blank."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CAPTIONS = {
    "generated/00_framework.html": ["Figure 1: the framework"],
    "generated/04_mpe_evaluation.html": ["Table 1: sigmoid-based MLPs", "Table 3: leaky-ReLU-based and linear-based", "Figure 2: input MLPs against their four decodings"],
    "generated/05_sparse_search.html": ["Table 2: the searched MLPs", "Figure 3: the 3-hidden-layer datasets", "Figure 4: compactness against error",
                                        "Figure 5: the 2-hidden-layer datasets", "Figure 6: the 4-hidden-layer datasets"],
    "deviations.html": ["Deviations and assumptions"],
    "reproduce.html": ["Reproduce it"],
}


@pytest.fixture(scope="module")
def html(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("book")
    book = tmp / "book"
    shutil.copytree(ROOT / "book", book, ignore=shutil.ignore_patterns("generated", "_build"))
    shutil.copytree(ROOT / "tests" / "notebooks", book / "generated")
    cmd = [sys.executable, str(ROOT / "book" / "build.py"), "--skip-notebooks", "--book-dir", str(book), "--out", str(tmp)]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return tmp / "_build" / "html"


def test_every_table_and_figure_is_there(html):
    assert (html / "intro.html").exists()
    for page, captions in CAPTIONS.items():
        text = (html / page).read_text()
        for caption in captions:
            assert caption in text, f"{caption!r} missing from {page}"
    text = (html / "generated" / "04_mpe_evaluation.html").read_text()
    assert text.count("paper E4") >= 5, "each block of Tables 1 and 3 shows the paper's values beside ours"
    assert text.count("floor: oracle constant") >= 5, "and the floors on the same test MLPs"
    assert "smoke scale" in text
    assert "<table" in text and "<img" in text


def test_the_findings_page_lists_every_claim_with_a_mark(html):
    """Issue 12: the page right after the intro names each of the paper's claims, with a mark, a
    link to its evidence, and the scale of the numbers."""
    import html as html_lib
    import re

    from swao.book.findings import CLAIMS, MARKS

    page = html / "generated" / "08_findings.html"
    text = html_lib.unescape(page.read_text())
    table = text[text.index("What held: the paper"):]
    table = table[: table.index("</table>")]
    rows = [r for r in re.findall(r"<tr.*?</tr>", table, flags=re.S) if "<td" in r]
    assert len(rows) == len(CLAIMS)
    for claim, row in zip(CLAIMS, rows):
        assert claim.text in row, claim.text
        assert sum(m in row for m in ("held", "not testable at this scale")) >= 1 and any(m in row for m in MARKS)
        assert f'href="{claim.page}.html"' in row, f"{claim.text}: no link to {claim.page}"
    assert "ours, smoke scale" in text and "The compute used" in text
    toc = (html / "intro.html").read_text()
    assert toc.index("08_findings.html") < toc.index("00_framework.html"), "the findings page comes first"


def test_without_a_paper_scale_run_the_book_says_so_once(html):
    """With ``results/paper/`` empty, no page shows an empty "At paper scale" section or says there
    is no run: the Reproduce page says it, once."""
    import html as html_lib
    import re

    sys.path.insert(0, str(ROOT / "book"))
    import build  # book/build.py

    if build.paper_run():
        pytest.skip("results/paper/ holds a paper-scale run")
    said = {}
    for page in sorted(html.rglob("*.html")):
        if "_static" in page.parts or "_sources" in page.parts:
            continue
        text = html_lib.unescape(re.sub(r"<[^>]+>", " ", page.read_text()))
        said[page.name] = len(re.findall(r"No paper-scale run", text, flags=re.I))
        assert not re.search(r"\bAt paper scale\b", text) or page.name == "reproduce.html", f"{page.name}: an empty paper-scale section"
    assert said.pop("reproduce.html") == 1 and not any(said.values()), said


def test_the_reproduce_page_gives_each_scales_sizes_from_its_config(html):
    import html as html_lib
    import re

    from swao.training.config import SCALES, get_config

    text = html_lib.unescape(re.sub(r"<[^>]+>", " ", (html / "reproduce.html").read_text()))
    text = re.sub(r"\s+", " ", text)
    for scale in SCALES:
        c = get_config(scale)
        assert f"{c.train_mlps:,} MLPs x {c.epochs:g} epoch" in text and f"{c.eval_mlps:,} test MLPs per encoder" in text, scale
        assert f"{c.search_steps:,} steps on {c.search_points:,}-point datasets" in text, scale
    assert "in `config.py`" not in text and "experiments.STAGES" not in text


def test_offline_assets_are_vendored(html):
    page = (html / "generated" / "04_mpe_evaluation.html").read_text()
    assert "_static/embed-amd.js" in page and "_static/require.js" in page
    assert "cdn.jsdelivr" not in page and "cdnjs" not in page
    assert (html / "_static" / "mathjax" / "tex-mml-chtml.js").exists()
    assert "application/vnd.jupyter.widget-state+json" in page, "widget state embedded for the static explorer"


def test_pages_load_each_widget_script_once_and_print_no_e_notation(html):
    """Issue 27: a page that loads the widget manager twice renders each explorer twice; a table
    that prints 5.09e+21 % says nothing a reader can use."""
    import re

    for page in sorted(html.rglob("*.html")):
        if "_static" in page.parts:
            continue
        text = page.read_text()
        for script in ("embed-amd.js", "require.js"):
            loads = re.findall(r'<script[^>]*src="[^"]*' + re.escape(script), text)
            assert len(loads) <= 1, f"{page.name} loads {script} {len(loads)} times"
        visible = re.sub(r"<(script|style|code)\b.*?</\1>", " ", text, flags=re.S)  # code: a commit such as 7e10920
        visible = re.sub(r"<[^>]+>", " ", visible)
        big = [m.group(0) for m in re.finditer(r"\b\d(?:\.\d+)?e\+?(\d+)\b", visible) if int(m.group(1)) >= 6]
        assert not big, f"{page.name} prints {big[:5]}"


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Chromium is not installed")
def test_intro_screenshot_is_not_blank(html, tmp_path):
    png = tmp_path / "intro.png"
    cmd = ["timeout", "90", "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1280,900", f"--screenshot={png}",
           str(html / "intro.html")]
    subprocess.run(cmd, capture_output=True, timeout=120)
    assert png.exists() and png.stat().st_size > 10_000
    from matplotlib.image import imread

    img = imread(str(png))
    assert img.std() > 0.05, "the screenshot is blank"


def chromium() -> str | None:
    """The system's Chromium: Debian's package (here and in .ci/run; Playwright's own browser
    downloads are not reachable), or Chrome where a runner ships it instead."""
    return next((p for p in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser"),
                             shutil.which("google-chrome")) if p and Path(p).exists()), None)


PAGE_CHECKS = """() => {
  const article = document.querySelector("article.bd-article") || document.querySelector("main");
  const column = article.clientWidth;
  const views = [...document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]')];
  return {
    brokenImages: [...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.getAttribute("src")),
    images: document.images.length,
    untypesetMath: [...document.querySelectorAll("span.math, div.math")].filter(e => !e.querySelector("mjx-container")).length,
    math: document.querySelectorAll("span.math, div.math").length,
    widgetRenders: views.map(v => v.parentElement.querySelectorAll(":scope > .widget-subarea").length),
    emptyWidgets: views.filter(v => !v.parentElement.querySelector(".widget-subarea .jupyter-widgets")).length,
    tooWide: [...article.querySelectorAll("table, img, figure")].map(e => [e.tagName, Math.round(e.getBoundingClientRect().width)])
                                                       .filter(([, w]) => w > column + 1),
    column,
    pageWidth: document.documentElement.scrollWidth,
    text: document.body.innerText,
  };
}"""


def test_every_page_in_a_real_browser(html):
    """Every page of the smoke book, opened in headless Chromium at 1,280 px: no JavaScript error
    or failed request, every image loaded, MathJax typeset, each widget rendered exactly once,
    nothing wider than the content column, and the intro's verdict on the first page."""
    import functools
    import http.server
    import threading

    browser_path = chromium()
    if browser_path is None:
        pytest.skip("no Chromium (/usr/bin/chromium) or Chrome on this machine: apt-get install chromium "
                    "(.ci/run installs it where it runs as root)")
    playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(html)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    pages = sorted(p.relative_to(html).as_posix() for p in html.rglob("*.html")
                   if "_static" not in p.parts and "_sources" not in p.parts and p.name not in ("index.html", "genindex.html", "search.html"))
    assert len(pages) >= 14, pages
    seen = {}
    try:
        with playwright.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=browser_path, args=["--no-sandbox", "--disable-gpu", "--no-first-run",
                                                                         "--disable-background-networking", "--disable-component-update"])
            for name in pages:
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                problems = []
                page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
                page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
                page.on("requestfailed", lambda r: problems.append(f"failed request: {r.url} ({r.failure})"))
                page.on("response", lambda r: problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)
                page.goto(f"http://127.0.0.1:{server.server_address[1]}/{name}", wait_until="load", timeout=60_000)
                page.wait_for_function("!window.MathJax || !MathJax.startup || !MathJax.startup.promise || MathJax.typesetPromise",
                                       timeout=30_000)
                page.evaluate("() => window.MathJax && MathJax.startup && MathJax.startup.promise")
                page.wait_for_load_state("networkidle", timeout=30_000)
                seen[name] = info = page.evaluate(PAGE_CHECKS)
                page.close()
                assert not problems, f"{name}: {problems}"
                assert not info["brokenImages"], f"{name}: images that did not load: {info['brokenImages']}"
                assert info["untypesetMath"] == 0, f"{name}: {info['untypesetMath']} of {info['math']} formulas not typeset by MathJax"
                assert all(n == 1 for n in info["widgetRenders"]), f"{name}: widgets rendered {info['widgetRenders']} times"
                assert info["emptyWidgets"] == 0, f"{name}: {info['emptyWidgets']} widget(s) rendered empty"
                assert not info["tooWide"], f"{name}: wider than the {info['column']} px column: {info['tooWide']}"
                assert info["pageWidth"] <= 1280, f"{name}: the page scrolls sideways ({info['pageWidth']} px)"
            browser.close()
    finally:
        server.shutdown()
    assert "In one sentence:" in seen["intro.html"]["text"] and "does not work" in seen["intro.html"]["text"]
    assert sum(i["images"] for i in seen.values()) > 10 and sum(i["math"] for i in seen.values()) > 10
    assert sum(len(i["widgetRenders"]) for i in seen.values()) >= 2  # the explorers of pages 04 and 05


def test_the_book_build_renders_without_computing_and_a_lone_notebook_computes(tmp_path, monkeypatch):
    """With an empty cache, the book build's render step (computing off) stops with an error that
    names the missing result; the same notebook run alone computes it, its progress bars in the
    cell output."""
    import json

    sys.path.insert(0, str(ROOT / "book"))
    import build  # book/build.py

    monkeypatch.setenv("SWAO_CACHE", str(tmp_path / "cache"))
    with pytest.raises(SystemExit, match=r"03_autoencoder_training failed: MissingResult: the autoencoder result"):
        build.run_notebooks("smoke", tmp_path / "out", only=["03_autoencoder_training"])
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").iterdir()), "nothing was computed"
    build.run_notebooks("smoke", tmp_path / "out", only=["03_autoencoder_training"], compute=True)
    cells = json.loads((tmp_path / "out" / "03_autoencoder_training.ipynb").read_text())["cells"]
    stderr = "".join("".join(o.get("text", "")) for c in cells for o in c.get("outputs", []) if o.get("name") == "stderr")
    assert "train sigmoid/min" in stderr and "step/s" in stderr


def test_the_sidebar_follows_the_reading_order_the_intro_recommends():
    """The intro says: read the findings, then "Does it learn?", then the deviations; the sidebar
    once put them under three different captions, in another order."""
    import re

    import yaml

    intro = (ROOT / "book" / "intro.md").read_text()
    advice = intro[intro.index("**Read next:**"):].split("\n\n")[0]
    recommended = [re.sub(r"\.(ipynb|md)$", "", link) for link in re.findall(r"\]\(([^)]+)\)", advice)]
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    first = [c["file"] for c in toc["parts"][0]["chapters"]]
    assert recommended and first[: len(recommended)] == recommended, (recommended, first)
