// Draws the report's interactive figures (plain JSON in #report-figures) with the plotly.js inlined above, then
// marks the page ready: document.body.dataset.interactive = "ready", window.reportReadyMs = time since navigation.
(function () {
  "use strict";
  var payload = JSON.parse(document.getElementById("report-figures").textContent);
  var drawn = [];
  document.querySelectorAll(".ichart").forEach(function (el) {
    var figure = payload.figures[el.dataset.chart];
    if (figure) {
      drawn.push(Plotly.newPlot(el, figure.data, figure.layout, payload.config));
    }
  });
  Promise.all(drawn).then(function () {
    window.reportReadyMs = performance.now();
    document.body.dataset.interactive = "ready";
  });
})();
