"""Small fixes to the built site that the pinned theme and extensions need.

* **No thebe.** Jupyter Book always loads sphinx-thebe, even with ``launch_buttons.thebe: false``.
  Under Sphinx 7.4 its inline configuration script lands twice in every page, and the second copy
  throws ``Identifier 'THEBE_JS_URL' has already been declared``; its default configuration also
  names an outside Binder repository. The book runs no live code, so its scripts, its style sheet
  and the configuration it appends to each page are left out.
* **The PDF button downloads the book.** The theme's download menu offers ".pdf", which only
  calls ``window.print()`` on the page. It is replaced by a link to the PDF of the whole book
  (``make pdf`` puts it at the site's root, :data:`BOOK_PDF`).
* **site.js** is added after every other script, so that it can adjust the search page
  (see ``book/_static/site.js``).
"""

from __future__ import annotations

#: File name of the whole-book PDF at the root of the built site (written by ``make pdf``).
BOOK_PDF = "optimization-for-deep-learning.pdf"

_THEBE_MARKERS = ("thebe",)


def _is_thebe(asset) -> bool:
    """True for a script or style sheet of sphinx-thebe (by file name or inline body)."""
    name = str(getattr(asset, "filename", asset) or "")
    body = str(getattr(asset, "attributes", {}).get("body", ""))
    return any(m in name.lower() or m.upper() in body for m in _THEBE_MARKERS)


def _drop_thebe(app, pagename, templatename, context, doctree):
    for key in ("script_files", "css_files"):
        if key in context:
            context[key] = [asset for asset in context[key] if not _is_thebe(asset)]


def _drop_thebe_nodes(app, doctree, docname):
    """Remove the raw HTML that sphinx-thebe appends to every page (its config, a kernel name)."""
    from docutils import nodes

    for node in list(doctree.findall(nodes.raw)):
        text = node.astext()
        if "x-thebe-config" in text or "kernelName =" in text:
            node.parent.remove(node)


def _book_pdf_button(app, pagename, templatename, context, doctree):
    pathto = context["pathto"]
    for group in context.get("header_buttons", []):
        if group.get("label") != "download-buttons":
            continue
        for k, button in enumerate(group.get("buttons", [])):
            if button.get("label") == "download-pdf-button":
                group["buttons"][k] = {
                    "type": "link",
                    "url": pathto(BOOK_PDF, 1),
                    "text": "book .pdf",
                    "tooltip": "The whole book as one PDF",
                    "icon": "fas fa-file-pdf",
                    "label": "download-book-pdf-button",
                }


def setup(app):
    # After the theme fills in its header buttons (priority 501) and the page's assets.
    app.connect("html-page-context", _drop_thebe, priority=900)
    app.connect("doctree-resolved", _drop_thebe_nodes, priority=900)
    app.connect("html-page-context", _book_pdf_button, priority=900)
    app.add_js_file("site.js", priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
