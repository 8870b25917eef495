//! Ways to look at what was drawn.

/// A decoded PNG.
pub struct Image {
    pub width: u32,
    pub height: u32,
    /// RGBA, row by row (premultiplied alpha; our images are opaque).
    pub pixels: Vec<u8>,
}

impl Image {
    pub fn decode(png: &[u8]) -> Image {
        let pixmap = resvg::tiny_skia::Pixmap::decode_png(png).expect("the PNG decodes");
        Image {
            width: pixmap.width(),
            height: pixmap.height(),
            pixels: pixmap.data().to_vec(),
        }
    }

    /// The RGB colour at (x, y).
    pub fn rgb(&self, x: u32, y: u32) -> [u8; 3] {
        let i = ((y * self.width + x) * 4) as usize;
        [self.pixels[i], self.pixels[i + 1], self.pixels[i + 2]]
    }

    /// How many pixels in the rectangle differ from `colour`.
    pub fn count_not(
        &self,
        colour: [u8; 3],
        x: std::ops::Range<u32>,
        y: std::ops::Range<u32>,
    ) -> usize {
        y.flat_map(|y| x.clone().map(move |x| (x, y)))
            .filter(|&(x, y)| self.rgb(x, y) != colour)
            .count()
    }

    /// How many pixels are within `tolerance` (per channel) of `colour`.
    pub fn count_near(&self, colour: [u8; 3], tolerance: u8) -> usize {
        self.pixels
            .chunks_exact(4)
            .filter(|p| (0..3).all(|c| p[c].abs_diff(colour[c]) <= tolerance))
            .count()
    }
}

/// "#rrggbb" as RGB.
pub fn hex(colour: &str) -> [u8; 3] {
    let byte = |i: usize| u8::from_str_radix(&colour[i..i + 2], 16).unwrap();
    [byte(1), byte(3), byte(5)]
}
