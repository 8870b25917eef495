//! SVG through ECharts' own server-side renderer, run in an embedded QuickJS engine.
//!
//! The browser and the SVG therefore draw the same option with the same code, and nothing is
//! downloaded at build time (unlike charming's `ssr` feature, which fetches V8). Loading the
//! 1 MB ECharts bundle is the expensive part, so each thread keeps one engine with ECharts
//! loaded and reuses it; a chart instance lives only for one call. Text is measured with the
//! embedded font (see [`crate::measure`]).

use std::cell::RefCell;

use rquickjs::{CatchResultExt, Context, Function, Runtime};

use crate::assets::ECHARTS_JS;
use crate::measure::text_width;
use crate::RenderError;

/// Heap limit of the engine: a month of 5-minute points takes a few tens of MB, so this only
/// stops a runaway script. (The native stack stays at QuickJS' default of 1 MB, below any
/// thread's stack, so deep recursion is a script error rather than a crash.)
const MEMORY_LIMIT: usize = 1 << 30;

/// QuickJS with ECharts loaded.
struct Engine {
    /// The global scope with ECharts and `pveTrafficRenderSvg`; it keeps its runtime alive.
    context: Context,
}

thread_local! {
    /// This thread's engine, loaded on first use. QuickJS runtimes are single-threaded.
    static ENGINE: RefCell<Option<Engine>> = const { RefCell::new(None) };
}

/// The SVG document ECharts draws for `option_js` (a JavaScript expression) at the size given.
pub(crate) fn render_svg(option_js: &str, width: u32, height: u32) -> Result<String, RenderError> {
    ENGINE.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            *slot = Some(Engine::load()?);
        }
        let engine = slot.as_ref().expect("engine was just loaded");
        let source = format!("pveTrafficRenderSvg({option_js}, {width}, {height})");
        engine.context.with(|ctx| {
            ctx.eval::<String, _>(source)
                .catch(&ctx)
                .map_err(|e| RenderError::Script(e.to_string()))
        })
    })
}

impl Engine {
    /// A fresh engine with the polyfills, ECharts and our render function loaded.
    fn load() -> Result<Engine, RenderError> {
        let script = |e: rquickjs::Error| RenderError::Script(e.to_string());
        let runtime = Runtime::new().map_err(script)?;
        runtime.set_memory_limit(MEMORY_LIMIT);
        let context = Context::full(&runtime).map_err(script)?;
        context.with(|ctx| {
            let measure = Function::new(ctx.clone(), |text: String, font: String| {
                text_width(&text, &font)
            })
            .map_err(script)?;
            ctx.globals()
                .set("pveTrafficTextWidth", measure)
                .map_err(script)?;
            for (name, source) in [
                ("ssr.js", include_str!("ssr.js")),
                ("echarts.min.js", ECHARTS_JS),
                ("ssr_render.js", include_str!("ssr_render.js")),
            ] {
                ctx.eval::<(), _>(source)
                    .catch(&ctx)
                    .map_err(|e| RenderError::Script(format!("loading {name}: {e}")))?;
            }
            Ok(())
        })?;
        Ok(Engine { context })
    }
}
