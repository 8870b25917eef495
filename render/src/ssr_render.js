// Text widths from the embedded font (pveTrafficTextWidth is defined by ssr.rs), so the
// layout fits the glyphs of the PNG.
echarts.setPlatformAPI({
  measureText: function (text, font) {
    return { width: pveTrafficTextWidth(String(text), font || '12px sans-serif') };
  }
});

// Draws one option as an SVG document; defined after ECharts has loaded.
function pveTrafficRenderSvg(option, width, height) {
  var chart = echarts.init(null, null, {
    renderer: 'svg',
    ssr: true,
    width: width,
    height: height
  });
  try {
    chart.setOption(option);
    return chart.renderToSVGString();
  } finally {
    chart.dispose();
  }
}
