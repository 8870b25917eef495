//! PNG: decodes, has the requested size, and the title is drawn (text pixels where it sits).

use pve_traffic_render::{palette, png, Theme};

use crate::specs::{ranking, series};
use crate::support::{hex, Image};

#[test]
fn a_time_series_png_has_the_size_and_text_in_the_title_area() {
    let image = Image::decode(&png(&series(2 * 288), Theme::Light, 900, 450).unwrap());
    assert_eq!((image.width, image.height), (900, 450));
    let background = hex(palette(Theme::Light).background);
    assert_eq!(image.rgb(0, 0), background, "corner is background");
    // The title is centred in the top 40 pixels: glyphs make dark pixels there.
    let title_area = image.count_not(background, 300..600, 4..40);
    assert!(
        title_area > 200,
        "only {title_area} text pixels in the title area"
    );
    // A margin beside the title stays empty: the count above is text, not a fill.
    assert_eq!(image.count_not(background, 0..20, 4..40), 0);
    // Text is drawn in the palette's text colour (its darkest pixels are that colour).
    let text = hex(palette(Theme::Light).text);
    assert!(image.count_near(text, 16) > 50, "text colour drawn");
    // The series are drawn.
    let rx = hex(palette(Theme::Light).rx);
    assert!(image.count_near(rx, 24) > 300, "download line drawn");
}

#[test]
fn a_ranking_png_draws_bars_in_both_colours() {
    let image = Image::decode(&png(&ranking(100, 10), Theme::Light, 1000, 600).unwrap());
    assert_eq!((image.width, image.height), (1000, 600));
    let p = palette(Theme::Light);
    assert!(image.count_near(hex(p.rx), 8) > 2000, "download bars");
    assert!(image.count_near(hex(p.tx), 8) > 500, "upload bars");
}

#[test]
fn dark_has_a_dark_background_and_light_text() {
    let image = Image::decode(&png(&series(288), Theme::Dark, 800, 400).unwrap());
    let p = palette(Theme::Dark);
    assert_eq!(image.rgb(0, 0), hex(p.background));
    assert!(image.count_not(hex(p.background), 250..550, 4..40) > 200);
    assert!(image.count_near(hex(p.text), 16) > 50, "light text drawn");
    let light = palette(Theme::Light);
    assert_eq!(
        image.count_near(hex(light.background), 0),
        0,
        "no white at all"
    );
}
