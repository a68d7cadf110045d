"""Ours: a Sphinx hook for the book's pages (``_config.yml``: ``sphinx.local_extensions``).

Jupyter Book 1.x's sphinx-thebe 0.3.1 (and sphinx-togglebutton) add their inline configuration
scripts at every read of the sources, so each page got them twice and declared ``const
THEBE_JS_URL`` twice: a SyntaxError in every page's console (the browser test,
``tests/test_book.py``). This keeps the first of identical scripts of a page.
"""


def keep_first_of_identical_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, kept = set(), []
    for js in scripts:
        # the file and attributes, not the priority; an inline script's file is None or "" (the two copies differ so)
        key = (str(getattr(js, "filename", js) or ""), tuple(sorted((k, str(v)) for k, v in getattr(js, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            kept.append(js)
    context["script_files"] = kept


def setup(app):
    app.connect("html-page-context", keep_first_of_identical_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
