//! Benchmarks write their figures into `BENCHMARKS.md` at the workspace root, each into its
//! own section between markers, so every bench can be re-run alone without disturbing the
//! others' figures, and the file always says which command produced what.

#![warn(missing_docs)]

use std::path::Path;

/// Replaces (or appends) the section `title` of `<workspace>/BENCHMARKS.md` with `body`,
/// noting `command` and the machine's core count. `manifest_dir` is the calling crate's
/// `CARGO_MANIFEST_DIR` (one level below the workspace root).
pub fn write_section(manifest_dir: &str, title: &str, command: &str, body: &str) {
    let path = Path::new(manifest_dir).join("../BENCHMARKS.md");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|_| "# Benchmarks\n".to_string());
    let new = replace_section(&text, title, command, body, cores());
    std::fs::write(&path, new).expect("BENCHMARKS.md is writable");
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(0, |n| n.get())
}

fn replace_section(text: &str, title: &str, command: &str, body: &str, cores: usize) -> String {
    let begin = format!("<!-- begin: {title} -->");
    let end = format!("<!-- end: {title} -->");
    let section = format!(
        "{begin}\n## {title}\n\nCommand: `{command}` (machine: {cores} cores).\n\n{body}{end}"
    );
    match (text.find(&begin), text.find(&end)) {
        (Some(b), Some(e)) if b < e => {
            format!("{}{section}{}", &text[..b], &text[e + end.len()..])
        }
        _ => format!("{}\n\n{section}\n", text.trim_end()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_section_is_appended_once_then_replaced_in_place() {
        let one = replace_section("# Benchmarks\n", "a", "cmd a", "1\n", 2);
        let two = replace_section(&one, "b", "cmd b", "2\n", 2);
        let again = replace_section(&two, "a", "cmd a", "3\n", 2);
        assert!(again.contains("3\n<!-- end: a -->"));
        assert!(!again.contains("1\n<!-- end: a -->"));
        assert!(again.find("begin: a").unwrap() < again.find("begin: b").unwrap());
        assert_eq!(again.matches("begin: a").count(), 1);
    }
}
