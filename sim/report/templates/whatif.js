// The what-if panel: the study's Gaussian-process emulators (exported as data by sim/report/whatif.py) evaluated
// here at the sliders' point. mean = m + s * k(x, X) . alpha; sd = s * sqrt(c - |L^-1 k(x, X)|^2), with
// k = c * Matern 3/2 (one length scale per parameter): scikit-learn's predict with the white noise left out.
(function () {
  "use strict";
  var payload = JSON.parse(document.getElementById("report-figures").textContent);
  var w = payload.whatif;
  if (!w) { return; }
  var DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
  var MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
                "November", "December"];

  function predict(e, x) {
    var n = e.x_train.length, k = new Array(n), v = new Array(n), mean = 0, vv = 0, i, j;
    for (i = 0; i < n; i++) {
      var r2 = 0, row = e.x_train[i];
      for (j = 0; j < x.length; j++) { var d = (x[j] - row[j]) / e.length_scales[j]; r2 += d * d; }
      var r = Math.sqrt(3 * r2);
      k[i] = e.constant * (1 + r) * Math.exp(-r);
      mean += k[i] * e.alpha[i];
    }
    for (i = 0; i < n; i++) {  // forward substitution: v = L^-1 k
      var s = k[i], L = e.L[i];
      for (j = 0; j < i; j++) { s -= L[j] * v[j]; }
      v[i] = s / L[i];
      vv += v[i] * v[i];
    }
    return {mean: e.mean + e.scale * mean, sd: e.scale * Math.sqrt(Math.max(e.constant - vv, 0))};
  }

  function dateWords(day) {
    var d = new Date(w.start_date + "T00:00:00Z");
    d.setUTCDate(d.getUTCDate() + Math.floor(day));
    return DAYS[d.getUTCDay()] + " " + d.getUTCDate() + " " + MONTHS[d.getUTCMonth()] + " " + d.getUTCFullYear();
  }
  function masks(value) { return Math.round(value).toLocaleString("en-US"); }
  function stated(e, value) {
    if (e.unit === "day") {
      return value >= w.horizon_day ? "not by the horizon (" + dateWords(w.horizon_day) + ")" : dateWords(value);
    }
    return masks(value) + " masks";
  }

  var sliders = Array.prototype.slice.call(document.querySelectorAll("#whatif input[type=range]"));
  function point() {
    var x = w.fixed_u.slice();
    sliders.forEach(function (el, i) { x[w.sliders[i].index] = w.sliders[i].u[+el.value]; });
    return x;
  }
  function update() {
    var x = point(), command = [w.command];
    sliders.forEach(function (el, i) {
      var s = w.sliders[i], value = s.values[+el.value];
      document.getElementById("whatif-value-" + i).textContent = s.shown[+el.value];
      [s.path].concat(s.also).forEach(function (path) { command.push("--set " + path + "=" + value); });
    });
    w.emulators.forEach(function (e, i) {
      var p = predict(e, x), low = p.mean - 1.96 * p.sd, high = p.mean + 1.96 * p.sd;
      var el = document.getElementById("whatif-answer-" + i);
      el.dataset.mean = p.mean;
      el.dataset.sd = p.sd;
      el.textContent = !e.check.passed ? "not shown: this emulator failed its held-back check (below)"
        : stated(e, p.mean) + " (emulator's 95 % band: " + stated(e, low) + " to " + stated(e, high)
        + "; a run scatters about ± " + (e.unit === "day" ? (1.96 * e.noise_sd).toFixed(1) + " days"
        : masks(1.96 * e.noise_sd) + " masks") + " around it)";
    });
    document.getElementById("whatif-command").textContent = command.join(" ");
  }
  sliders.forEach(function (el) { el.addEventListener("input", update); });
  document.getElementById("whatif-reset").addEventListener("click", function () {
    sliders.forEach(function (el, i) { el.value = w.sliders[i].start; });
    update();
  });
  update();
  window.reportWhatIf = {predict: predict, point: point, update: update};
})();
