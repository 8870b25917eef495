// Glue between the embedded QuickJS engine and ECharts' server-side SVG renderer.
// QuickJS is a bare ECMAScript engine: no console and no timers, which ECharts' bundle
// touches while loading and (for animations, which our charts turn off) while drawing.
// Nothing here is ever asked to do real work, so the stand-ins do nothing.
var console = {
  log: function () {},
  info: function () {},
  warn: function () {},
  error: function () {},
  debug: function () {}
};
function setTimeout() { return 0; }
function clearTimeout() {}
function setInterval() { return 0; }
function clearInterval() {}
function requestAnimationFrame() { return 0; }
function cancelAnimationFrame() {}
