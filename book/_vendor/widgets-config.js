// Ours: where the widget manager (embed-amd.js, loaded next) finds its icon fonts. It takes its
// public path from its requirejs module URL, which without this is relative to the page
// ("generated/@jupyter-widgets/...", a 404 for every font); the fonts are vendored in
// _static/widgets/ (the woff2 files of @jupyter-widgets/html-manager@1.0.15's dist/).
require.config({
  paths: {
    "@jupyter-widgets/html-manager/dist": new URL((document.documentElement.dataset.content_root || "./") + "_static/widgets",
                                                  document.baseURI).href,
  },
});
