//! PNG: the SVG from [`crate::ssr`] rasterised by resvg.
//!
//! The font database holds only the embedded DejaVu Sans, and every generic family (ECharts
//! writes `sans-serif`; usvg falls back to `serif` for names it does not know) maps to it, so
//! text is drawn the same on a server without any fonts installed.

use std::sync::{Arc, OnceLock};

use resvg::tiny_skia::{Pixmap, Transform};
use resvg::usvg::{self, fontdb};

use crate::assets::{FONTS, FONT_FAMILY};
use crate::RenderError;

/// The PNG of `svg`, which is `width` x `height` pixels.
pub(crate) fn rasterise(svg: &str, width: u32, height: u32) -> Result<Vec<u8>, RenderError> {
    let options = usvg::Options {
        font_family: FONT_FAMILY.to_string(),
        fontdb: fonts(),
        ..usvg::Options::default()
    };
    let tree = usvg::Tree::from_str(svg, &options).map_err(|e| RenderError::Svg(e.to_string()))?;
    let mut pixmap = Pixmap::new(width, height)
        .ok_or_else(|| RenderError::Svg(format!("no {width}x{height} pixmap")))?;
    resvg::render(&tree, Transform::identity(), &mut pixmap.as_mut());
    pixmap
        .encode_png()
        .map_err(|e| RenderError::Svg(format!("encoding the PNG: {e}")))
}

/// The embedded fonts, loaded once per process.
fn fonts() -> Arc<fontdb::Database> {
    static FONTS_DB: OnceLock<Arc<fontdb::Database>> = OnceLock::new();
    FONTS_DB
        .get_or_init(|| {
            let mut db = fontdb::Database::new();
            for font in FONTS {
                db.load_font_data(font.to_vec());
            }
            db.set_sans_serif_family(FONT_FAMILY);
            db.set_serif_family(FONT_FAMILY);
            db.set_monospace_family(FONT_FAMILY);
            db.set_cursive_family(FONT_FAMILY);
            db.set_fantasy_family(FONT_FAMILY);
            Arc::new(db)
        })
        .clone()
}
