//! Text widths for ECharts' layout inside QuickJS, from the font the PNG is drawn with.
//!
//! Without a canvas, ECharts guesses text widths from a table made for another font, and the
//! guesses are short for DejaVu Sans: long guest names on the ranking's axis were cut at the
//! image's edge. We hand it the embedded font's real advances instead, so the layout fits the
//! glyphs resvg draws. (Browsers measure with their own fonts; this only serves SVG and PNG.)

use std::sync::OnceLock;

use skrifa::instance::{LocationRef, Size};
use skrifa::metrics::GlyphMetrics;
use skrifa::{charmap::Charmap, FontRef, GlyphId, MetadataProvider};

use crate::assets::FONTS;

/// Font size ECharts uses when a style names none, in pixels.
const DEFAULT_SIZE: f64 = 12.0;

/// Advances of one embedded face, per pixel of font size.
struct Face {
    charmap: Charmap<'static>,
    metrics: GlyphMetrics<'static>,
}

impl Face {
    fn load(data: &'static [u8]) -> Face {
        let font = FontRef::new(data).expect("the embedded font parses");
        Face {
            charmap: font.charmap(),
            metrics: font.glyph_metrics(Size::new(1.0), LocationRef::default()),
        }
    }

    /// Width of `text` at size 1 (glyphs the font lacks are drawn as its box, glyph 0).
    fn width(&self, text: &str) -> f64 {
        text.chars()
            .map(|c| {
                let glyph = self.charmap.map(c).unwrap_or(GlyphId::NOTDEF);
                f64::from(self.metrics.advance_width(glyph).unwrap_or(0.0))
            })
            .sum()
    }
}

/// Regular and bold.
fn faces() -> &'static [Face; 2] {
    static FACES: OnceLock<[Face; 2]> = OnceLock::new();
    FACES.get_or_init(|| FONTS.map(Face::load))
}

/// Width in pixels of `text` in the CSS font shorthand `font` (e.g. "bold 18px sans-serif";
/// only the size and the weight matter, the family is always the embedded one).
pub(crate) fn text_width(text: &str, font: &str) -> f64 {
    let mut size = DEFAULT_SIZE;
    let mut bold = false;
    for token in font.split_whitespace() {
        if let Some(px) = token.strip_suffix("px").and_then(|n| n.parse::<f64>().ok()) {
            size = px;
        } else if token == "bold" || token == "bolder" {
            bold = true;
        } else if let Ok(weight) = token.parse::<u32>() {
            bold = weight >= 600;
        }
    }
    faces()[usize::from(bold)].width(text) * size
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_grow_with_size_length_and_weight() {
        let base = text_width("guest-1", "12px sans-serif");
        assert!(base > 30.0 && base < 60.0, "{base}");
        assert!((text_width("guest-1", "24px sans-serif") - 2.0 * base).abs() < 1e-9);
        assert!(text_width("guest-10", "12px sans-serif") > base);
        assert!(text_width("guest-1", "bold 12px sans-serif") > base);
        assert_eq!(text_width("guest-1", "sans-serif"), base, "12px by default");
        assert_eq!(text_width("", "12px sans-serif"), 0.0);
    }
}
