// The book's own script, loaded after the theme's on every page (see book/_ext/site_fixes.py).
//
// Search excerpts: Sphinx's search page builds each result's excerpt from the text of the
// page's [role=main] element. In this theme that element also holds the page's toolbar (the
// download and full-screen buttons) and the "Contents" box, so excerpts began with "... .pdf
// Contents ...". Excerpts are taken from the article alone.
(function () {
  "use strict";

  function articleText(htmlString, anchor) {
    const doc = new DOMParser().parseFromString(htmlString, "text/html");
    for (const query of [".headerlink", "script", "style", ".toggle-details__summary"]) {
      doc.querySelectorAll(query).forEach((el) => el.remove());
    }
    const article = doc.querySelector("article.bd-article") || doc.querySelector("[role=main]");
    if (!article) return "";
    if (anchor) {
      const block = article.querySelector(anchor);
      if (block) return block.textContent;
    }
    return article.textContent;
  }

  function patchSearch() {
    if (typeof Search !== "undefined" && Search.htmlToText) {
      Search.htmlToText = articleText;
    }
  }

  // searchtools.js comes after this script on the search page: patch once everything is
  // parsed, before Sphinx's own start-up (registered later) runs the query.
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", patchSearch);
  } else {
    patchSearch();
  }
})();
