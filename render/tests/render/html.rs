//! HTML: self-contained (ECharts inlined, nothing referenced over the network), guest names
//! inert, every guest in the ranking's table, the theme in the page and the option.

use pve_traffic_render::{html, palette, ChartSpec, Theme, TimeSeries};

use crate::specs::{ranking, series, EVIL_NAME};

const ECHARTS: &str = include_str!("../../assets/echarts/echarts.min.js");

/// The page without the contents of its `<script>` elements (the markup around them).
fn markup(page: &str) -> String {
    let mut out = String::new();
    let mut rest = page;
    while let Some(start) = rest.find("<script>") {
        out.push_str(&rest[..start + "<script>".len()]);
        let end = rest[start..].find("</script>").expect("scripts are closed") + start;
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

#[test]
fn the_page_inlines_echarts_and_references_nothing_remote() {
    for spec in [series(288), ranking(20, 10)] {
        let page = html(&spec, Theme::Light);
        assert!(page.contains(ECHARTS), "ECharts is inlined whole");
        // Every script is inline: no `<script src=…>`, no stylesheet links, no imports.
        assert_eq!(page.matches("<script").count(), 2);
        assert_eq!(page.matches("<script>").count(), 2);
        let markup = markup(&page);
        for forbidden in ["http://", "https://", "<link", "@import", "src=", "href="] {
            assert!(!markup.contains(forbidden), "{forbidden} in the markup");
        }
        // `url(` only occurs as ECharts' own in-document references (`url(#id)`).
        for (at, _) in page.match_indices("url(") {
            let after = page[at + 4..].trim_start_matches(['"', '\'', ' ']);
            assert!(!after.starts_with("http"), "remote url( at {at}");
        }
        // The page forbids fetching anything at all.
        assert!(markup.contains("default-src 'none'"));
    }
}

#[test]
fn a_guest_name_cannot_end_the_script_or_add_markup() {
    let page = html(&ranking(20, 10), Theme::Light);
    assert_eq!(page.matches("<script").count(), 2, "no script added");
    assert_eq!(
        page.matches("</script>").count(),
        2,
        "no script ended early"
    );
    assert!(!page.contains(EVIL_NAME));
    // In the table as entities, in the option as JSON escapes.
    assert!(page.contains("<td>&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;</td>"));
    assert!(page.contains(r"\u003c/script\u003e\u003cscript\u003ealert(1)"));
}

#[test]
fn the_ranking_table_lists_every_guest_in_order() {
    let page = html(&ranking(500, 10), Theme::Light);
    assert_eq!(page.matches("<tr>").count(), 501, "header + 500 guests");
    let first = page.find("<td>guest-0</td>").unwrap();
    let last = page.find("<td>guest-499</td>").unwrap();
    assert!(first < last);
    assert!(page.contains(
        "<td class=\"bytes\">1</td><td class=\"bytes\">100</td><td>guest-0</td>\
         <td class=\"bytes\">1.36 TiB</td><td class=\"bytes\">465.66 GiB</td>\
         <td class=\"bytes\">1.82 TiB</td>"
    ));
}

#[test]
fn a_time_series_page_shows_its_totals_exactly() {
    let spec = ChartSpec::TimeSeries(TimeSeries {
        title: "Quota <statement>".into(),
        labels: vec!["a".into()],
        total: Some(vec![1 << 30]),
        totals: vec![("Total".into(), (1 << 30) + 5)],
        ..TimeSeries::default()
    });
    let page = html(&spec, Theme::Light);
    assert!(page.contains("<title>Quota &lt;statement&gt;</title>"));
    assert!(page.contains(
        "<tr><th>Total</th><td class=\"bytes\">1 GiB</td><td class=\"bytes\">1073741829 B</td></tr>"
    ));
}

#[test]
fn dark_changes_the_page_and_the_option() {
    let spec = series(288);
    let (light, dark) = (html(&spec, Theme::Light), html(&spec, Theme::Dark));
    let (l, d) = (palette(Theme::Light), palette(Theme::Dark));
    for (page, p, other) in [(&light, l, d), (&dark, d, l)] {
        assert!(page.contains(&format!("background: {};", p.background)));
        assert!(page.contains(&format!("\"backgroundColor\":\"{}\"", p.background)));
        assert!(page.contains(&format!("\"color\":\"{}\"", p.rx)));
        assert!(!page.contains(&format!("\"color\":\"{}\"", other.rx)));
    }
}
