// Draws the report's interactive figures (plain JSON in #report-figures) with the plotly.js inlined above. A figure
// is drawn when it comes near the screen (the first screen reads at once, whatever the number of figures below);
// window.reportDrawAll() draws every one. Marks: each drawn figure's data-drawn="yes"; once the figures in view
// are drawn, document.body.dataset.interactive = "ready" and window.reportReadyMs = time since navigation.
(function () {
  "use strict";
  var payload = JSON.parse(document.getElementById("report-figures").textContent);
  var charts = Array.prototype.slice.call(document.querySelectorAll(".ichart"));
  var drawing = {};

  function draw(el) {
    var figure = payload.figures[el.dataset.chart];
    if (!figure) { return Promise.resolve(); }
    if (!drawing[el.id]) {
      drawing[el.id] = Plotly.newPlot(el, figure.data, figure.layout, payload.config).then(function () {
        el.dataset.drawn = "yes";
      });
    }
    return drawing[el.id];
  }
  function ready() {
    window.reportReadyMs = performance.now();
    document.body.dataset.interactive = "ready";
  }
  window.reportDrawAll = function () { return Promise.all(charts.map(draw)); };
  if (!("IntersectionObserver" in window)) {
    window.reportDrawAll().then(ready);
    return;
  }
  var first = true;
  var observer = new IntersectionObserver(function (entries) {
    var now = entries.filter(function (e) { return e.isIntersecting; }).map(function (e) {
      observer.unobserve(e.target);
      return draw(e.target);
    });
    if (first) {  // the first call reports every figure: ready once those in view are drawn
      first = false;
      Promise.all(now).then(ready);
    }
  }, {rootMargin: "600px 0px"});
  charts.forEach(function (el) { observer.observe(el); });
  if (!charts.length) { ready(); }
})();
