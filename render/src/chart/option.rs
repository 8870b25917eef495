//! An ECharts option as JavaScript source that is safe to inline in a `<script>` element.
//!
//! charming marks JavaScript functions (formatters) inside its JSON with a magic string and
//! its `Display` unwraps every string that carries the mark, wherever it sits. A guest named
//! after the mark would then become code. We serialise ourselves instead: only the functions
//! this crate put into the chart are unwrapped, and only where a JSON value starts (right
//! after `:`), which a string's content can never be, since its quotes are escaped. (A name
//! equal to one of our marked functions would become that function: our code, harmless.)

use charming::element::JsFunction;
use charming::Chart;

/// A chart option plus the JavaScript functions it refers to.
pub(crate) struct Definition {
    /// The option (data, layout, colours).
    pub(crate) chart: Chart,
    /// Every function placed into `chart`; each must be free of `<`, so it cannot end a
    /// `<script>` element.
    pub(crate) functions: Vec<JsFunction>,
}

impl Definition {
    /// The option as a JavaScript expression. Every `<`, `>` and `&` in strings is written as
    /// a `\u` escape, so a name such as `</script>` cannot end the `<script>` element it is
    /// inlined into, and the text is also valid inside an XHTML or SVG script.
    pub(crate) fn to_js(&self) -> String {
        let json = serde_json::to_string(&self.chart).expect("a chart option always serialises");
        let mut js = escape_for_script(&json);
        for function in &self.functions {
            let marked = serde_json::to_string(function).expect("a function serialises");
            let source = unmark(&marked);
            assert!(
                !source.contains('<'),
                "chart functions must not contain '<'"
            );
            js = js.replace(
                &format!(":{}", escape_for_script(&marked)),
                &format!(":{source}"),
            );
        }
        js
    }
}

/// JSON text with `<`, `>`, `&`, U+2028 and U+2029 escaped. In JSON these characters only
/// occur inside strings, where the escape means the same character.
fn escape_for_script(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// charming's (private) mark around a function's source in its JSON; `our_functions_become_code`
/// fails if a charming update changes it.
const RAW_MARK: &str = "#*#*#*#";

/// The JavaScript source inside a serialised, marked function: the JSON string decoded, the
/// marks at both ends removed.
fn unmark(marked: &str) -> String {
    let text: String = serde_json::from_str(marked).expect("a serialised function is a string");
    text.strip_prefix(RAW_MARK)
        .and_then(|t| t.strip_suffix(RAW_MARK))
        .expect("charming marks functions with RAW_MARK")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use charming::component::Title;
    use charming::element::{Formatter, Tooltip};

    fn definition(title: &str) -> Definition {
        let function = JsFunction::new_with_args("v", "return v + ' GiB';");
        Definition {
            chart: Chart::new()
                .title(Title::new().text(title))
                .tooltip(Tooltip::new().value_formatter(Formatter::Function(function.clone()))),
            functions: vec![function],
        }
    }

    #[test]
    fn our_functions_become_code() {
        let js = definition("t").to_js();
        assert!(
            js.contains(r#""valueFormatter":function(v) { return v + ' GiB'; }"#),
            "{js}"
        );
        assert!(!js.contains('#'), "{js}");
    }

    #[test]
    fn text_that_looks_like_a_function_stays_text() {
        let marked =
            serde_json::to_string(&JsFunction::new_with_args("v", "return v + ' GiB';")).unwrap();
        let title: String = serde_json::from_str(&marked).unwrap();
        let js = definition(&format!("\"{title}\"")).to_js();
        // The title is still one string: parsing the whole option as JSON with the function
        // value replaced by null succeeds and gives the title back.
        let json = js.replace(":function(v) { return v + ' GiB'; }", ":null");
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["title"][0]["text"], format!("\"{title}\""));
    }

    #[test]
    fn script_end_tags_are_escaped() {
        let js = definition("</script><script>alert(1)</script>").to_js();
        assert!(!js.contains('<'), "{js}");
        assert!(js.contains(r"\u003c/script\u003e"), "{js}");
        let value: serde_json::Value =
            serde_json::from_str(&js.replace(":function(v) { return v + ' GiB'; }", ":null"))
                .unwrap();
        assert_eq!(
            value["title"][0]["text"],
            "</script><script>alert(1)</script>"
        );
    }
}
