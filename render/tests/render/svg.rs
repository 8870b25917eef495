//! SVG: a well-formed document with the title text and the theme's background.

use pve_traffic_render::{palette, svg, ChartSpec, Ranking, RenderError, Theme, TimeSeries};

use crate::specs::{ranking, series, EVIL_NAME};

/// All text of the document's `<text>` elements.
fn texts(doc: &roxmltree::Document) -> Vec<String> {
    doc.descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(|n| {
            n.descendants()
                .filter(|t| t.is_text())
                .filter_map(|t| t.text())
                .collect()
        })
        .collect()
}

/// The fill of the first `<rect>`: ECharts draws the background first.
fn background(doc: &roxmltree::Document) -> String {
    doc.descendants()
        .find(|n| n.has_tag_name("rect"))
        .and_then(|n| n.attribute("fill"))
        .expect("a background rect")
        .to_string()
}

fn parse(spec: &ChartSpec, theme: Theme) -> String {
    svg(spec, theme, 800, 500).expect("the chart draws")
}

#[test]
fn a_time_series_is_a_well_formed_svg_with_its_titles_and_totals() {
    let text = parse(&series(2 * 288), Theme::Light);
    let doc = roxmltree::Document::parse(&text).expect("the SVG parses");
    assert!(doc.root_element().has_tag_name("svg"));
    assert_eq!(doc.root_element().attribute("width"), Some("800"));
    assert_eq!(doc.root_element().attribute("height"), Some("500"));
    let texts = texts(&doc);
    for wanted in [
        "web-01 (100)",
        "Europe/Berlin",
        "Download",
        "Upload",
        "Total",
        "120 MiB",
    ] {
        assert!(
            texts.iter().any(|t| t.contains(wanted)),
            "{wanted:?} in {texts:?}"
        );
    }
    // The lines are drawn (paths with the palette's colours).
    let p = palette(Theme::Light);
    for colour in [p.rx, p.tx, p.total] {
        assert!(text.contains(&format!("stroke=\"{colour}\"")), "{colour}");
    }
}

#[test]
fn a_ranking_names_its_top_guests_and_keeps_names_as_text() {
    let text = parse(&ranking(50, 10), Theme::Light);
    let doc = roxmltree::Document::parse(&text).expect("the SVG parses");
    let texts = texts(&doc);
    assert!(texts.iter().any(|t| t == "guest-0 (100)"), "{texts:?}");
    assert!(texts.iter().any(|t| t == "guest-9 (109)"), "{texts:?}");
    assert!(
        !texts.iter().any(|t| t.contains("guest-10 ")),
        "only the top 10"
    );
    // The hostile name is cut to 28 characters, but stays text, not markup.
    let cut: String = EVIL_NAME.chars().take(27).collect();
    assert!(texts.iter().any(|t| t.starts_with(&cut)), "{texts:?}");
    assert!(!doc.descendants().any(|n| n.has_tag_name("script")));
}

#[test]
fn dark_changes_the_background_and_the_series_colours() {
    let spec = series(288);
    let light = parse(&spec, Theme::Light);
    let dark = parse(&spec, Theme::Dark);
    let (l, d) = (palette(Theme::Light), palette(Theme::Dark));
    let light_doc = roxmltree::Document::parse(&light).unwrap();
    let dark_doc = roxmltree::Document::parse(&dark).unwrap();
    assert_eq!(background(&light_doc), l.background);
    assert_eq!(background(&dark_doc), d.background);
    assert!(dark.contains(&format!("stroke=\"{}\"", d.rx)));
    assert!(!dark.contains(&format!("stroke=\"{}\"", l.rx)));
}

#[test]
fn sizes_outside_the_limits_are_refused_with_the_limits() {
    let err = svg(&series(10), Theme::Light, 10, 500).unwrap_err();
    assert!(matches!(err, RenderError::Size { width: 10, .. }));
    assert!(err.to_string().contains("between 100 and 8000"), "{err}");
}

#[test]
fn empty_charts_still_draw_their_titles() {
    let empty_series = ChartSpec::TimeSeries(TimeSeries {
        title: "no traffic yet".into(),
        ..TimeSeries::default()
    });
    let empty_ranking = ChartSpec::Ranking(Ranking {
        title: "no guests".into(),
        top_n: 10,
        ..Ranking::default()
    });
    for (spec, title) in [
        (empty_series, "no traffic yet"),
        (empty_ranking, "no guests"),
    ] {
        let text = parse(&spec, Theme::Light);
        let doc = roxmltree::Document::parse(&text).expect("the SVG parses");
        assert!(texts(&doc).iter().any(|t| t == title), "{title}");
    }
}

#[test]
fn a_quota_statement_draws_running_sums_and_the_limit() {
    let spec = ChartSpec::TimeSeries(TimeSeries {
        title: "quota".into(),
        labels: (1..=30).map(|d| format!("11-{d:02}")).collect(),
        total: Some(vec![10 << 30; 30]),
        cumulative: true,
        limit: Some(250 << 30),
        totals: vec![("Used".into(), 300 << 30), ("Limit".into(), 250 << 30)],
        ..TimeSeries::default()
    });
    let text = parse(&spec, Theme::Light);
    let doc = roxmltree::Document::parse(&text).unwrap();
    let texts = texts(&doc);
    // Running sums reach 300 GiB, so the axis goes past it; the limit has its legend entry.
    assert!(texts.iter().any(|t| t == "300 GiB"), "{texts:?}");
    assert!(texts.iter().any(|t| t == "Limit"), "{texts:?}");
    assert!(
        texts.iter().any(|t| t.contains("Used: 300 GiB")),
        "{texts:?}"
    );
    let limit = palette(Theme::Light).limit;
    assert!(
        text.contains(&format!("stroke=\"{limit}\"")),
        "limit line drawn"
    );
    assert!(text.contains("stroke-dasharray"), "dashed");
}
