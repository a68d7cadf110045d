// Ours: the widget manager (@jupyter-widgets/html-manager@1.0.15) typesets widget labels with
// MathJax 2's MathJax.Hub.Queue(["Typeset", MathJax.Hub, element]); the book loads MathJax 3,
// which has no Hub, so every label threw "Cannot read properties of undefined (reading 'Queue')".
// This gives each object the page's MathJax global becomes a Hub whose Queue typesets the element
// with MathJax 3 once MathJax is ready. It runs before MathJax (a plain script; MathJax is deferred).
(function () {
  var hub = {
    Queue: function () {
      var mathjax = window.MathJax;
      for (var i = 0; i < arguments.length; i++) {
        var job = arguments[i];
        var element = Array.isArray(job) ? job[2] : null;
        if (element && mathjax && mathjax.startup && mathjax.startup.promise) {
          mathjax.startup.promise.then(function (el) { return function () { return window.MathJax.typesetPromise([el]); }; }(element));
        }
      }
    },
  };
  var current = window.MathJax;
  if (current && typeof current === "object" && !current.Hub) current.Hub = hub;
  Object.defineProperty(window, "MathJax", {
    configurable: true,
    get: function () { return current; },
    set: function (value) {
      if (value && typeof value === "object" && !value.Hub) value.Hub = hub;
      current = value;
    },
  });
})();
