//! A self-contained HTML page: ECharts inlined, the chart option inlined, the tables as
//! plain HTML. It opens offline from a file or a mail attachment; its Content Security Policy
//! forbids fetching anything, so a page that works here cannot depend on the network.
//!
//! Guest names are the only untrusted text. In HTML they are escaped as entities; in the
//! option they are JSON strings whose `<` is written `\u003c` (see `chart::option`), so
//! `</script>` in a name cannot end the script.

use std::fmt::Write;

use pve_traffic_units::format_bytes;

use crate::assets::ECHARTS_JS;
use crate::palette::palette;
use crate::{chart, ChartSpec, Ranking, Theme, TimeSeries};

/// The page around the chart; `{{name}}` marks are filled in by [`page`].
const TEMPLATE: &str = include_str!("page.html");

/// Height of a time series chart in the page, in CSS pixels.
const SERIES_HEIGHT: usize = 600;
/// Height per bar of a ranking chart, and the space for titles, legend and footer.
const BAR_HEIGHT: usize = 26;
const RANKING_CHROME: usize = 160;

/// The whole page of `spec` in `theme`.
pub(crate) fn page(spec: &ChartSpec, theme: Theme) -> String {
    let colours = palette(theme);
    let (tables, chart_height) = match spec {
        ChartSpec::TimeSeries(series) => (totals_table(series), SERIES_HEIGHT),
        ChartSpec::Ranking(ranking) => (
            ranking_table(ranking),
            (ranking.top_n.min(ranking.rows.len()) * BAR_HEIGHT + RANKING_CHROME)
                .max(SERIES_HEIGHT),
        ),
    };
    let option = chart::definition(spec, theme, None).to_js();
    let title = escape(spec.title());
    // Filled in one pass, so text inserted for one mark is never searched for another.
    let mut out = String::with_capacity(ECHARTS_JS.len() + option.len() + tables.len() + 4096);
    let mut rest = TEMPLATE;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let end = start + rest[start..].find("}}").expect("template marks are closed");
        match &rest[start + 2..end] {
            "title" => out.push_str(&title),
            "background" => out.push_str(colours.background),
            "text" => out.push_str(colours.text),
            "muted" => out.push_str(colours.muted),
            "grid" => out.push_str(colours.grid),
            "chart_height" => out.push_str(&chart_height.to_string()),
            "tables" => out.push_str(&tables),
            "echarts" => out.push_str(ECHARTS_JS),
            "option" => out.push_str(&option),
            other => unreachable!("unknown template mark {other}"),
        }
        rest = &rest[end + 2..];
    }
    out.push_str(rest);
    out
}

/// The period totals of a time series, exact to the byte.
fn totals_table(series: &TimeSeries) -> String {
    let mut out = String::from("<table>\n<caption>Totals</caption>\n");
    for (label, bytes) in &series.totals {
        let _ = writeln!(
            out,
            "<tr><th>{}</th><td class=\"bytes\">{}</td><td class=\"bytes\">{bytes} B</td></tr>",
            escape(label),
            format_bytes(*bytes),
        );
    }
    out.push_str("</table>\n");
    out
}

/// Every guest of a ranking, in its order.
fn ranking_table(ranking: &Ranking) -> String {
    let mut out = String::with_capacity(160 * ranking.rows.len() + 512);
    out.push_str(
        "<table>\n<caption>All guests</caption>\n<thead><tr><th class=\"bytes\">#</th>\
         <th class=\"bytes\">VMID</th><th>Name</th><th class=\"bytes\">Download</th>\
         <th class=\"bytes\">Upload</th><th class=\"bytes\">Total</th></tr></thead>\n<tbody>\n",
    );
    for (rank, row) in ranking.rows.iter().enumerate() {
        let _ = writeln!(
            out,
            "<tr><td class=\"bytes\">{}</td><td class=\"bytes\">{}</td><td>{}</td>\
             <td class=\"bytes\">{}</td><td class=\"bytes\">{}</td><td class=\"bytes\">{}</td></tr>",
            rank + 1,
            row.vmid,
            escape(&row.name),
            format_bytes(row.rx),
            format_bytes(row.tx),
            format_bytes(row.total()),
        );
    }
    out.push_str("</tbody>\n</table>\n");
    out
}

/// `text` with the HTML special characters as entities (safe in text and quoted attributes).
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_characters_become_entities() {
        assert_eq!(
            escape(r#"<b a="x">'&'</b>"#),
            "&lt;b a=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/b&gt;"
        );
    }
}
