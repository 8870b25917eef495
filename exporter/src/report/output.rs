//! Report files: names that are safe whatever a guest or rule is called, written only inside
//! the output directory.
//!
//! A guest name is chosen by whoever runs the guest; a name like `../../etc/x` must not
//! decide where a file is written. So a file name keeps only `[A-Za-z0-9._-]` (everything
//! else becomes `_`, path separators included), never starts with `.` (no hidden files, no
//! `..`), and is at most [`MAX_NAME`] bytes. The path is then joined under the output
//! directory and checked to be a direct child of it. The file is written to a temporary
//! name in the same directory and renamed over the final name: a reader never sees half a
//! report, and a symbolic link planted at the final name is replaced, not followed.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::ReportError;

/// The longest file name written, in bytes (file systems allow 255).
pub const MAX_NAME: usize = 200;

/// A file name made safe: `[A-Za-z0-9._-]` kept, everything else `_`, a leading `.` made
/// `_`, the stem cut so the whole is at most [`MAX_NAME`] bytes (the extension, after the
/// last `.`, is kept).
pub fn safe_file_name(raw: &str) -> String {
    let mut s: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.starts_with('.') || s.is_empty() {
        s.replace_range(0..0, "_");
    }
    if s.len() > MAX_NAME {
        let ext = s.rfind('.').map(|i| s[i..].to_string()).unwrap_or_default();
        let ext = if ext.len() < 16 { ext } else { String::new() };
        s.truncate(MAX_NAME - ext.len());
        s.push_str(&ext);
    }
    s
}

/// Writes `contents` to `dir/safe_file_name(name)`, creating `dir` if needed; returns the
/// path written.
pub fn write_report(dir: &Path, name: &str, contents: &[u8]) -> Result<PathBuf, ReportError> {
    let io = |path: &Path, source: std::io::Error| ReportError::Io {
        path: path.to_owned(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let file = safe_file_name(name);
    let path = dir.join(&file);
    // By construction; checked because this is the one thing that must never go wrong.
    if path.parent() != Some(dir) || path.file_name() != Some(std::ffi::OsStr::new(&file)) {
        return Err(ReportError::Io {
            path,
            source: std::io::Error::other("refusing a file name that leaves the output directory"),
        });
    }
    let tmp = dir.join(format!(".{file}.{}.tmp", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        f.write_all(contents)?;
        f.sync_all()?;
        std::fs::rename(&tmp, &path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io(&path, e)
    })?;
    Ok(path)
}

/// How an instant appears in a file name: `2026-11-01` at local midnight, else
/// `2026-11-01T1030`.
fn stamp(z: &jiff::ZonedDateTime) -> String {
    if (z.hour(), z.minute()) == (0, 0) {
        z.strftime("%Y-%m-%d").to_string()
    } else {
        z.strftime("%Y-%m-%dT%H%M").to_string()
    }
}

/// `vm-101-web-day-2026-11-01_to_2026-12-01.json` (made safe by [`write_report`]).
pub fn guest_file_name(r: &super::GuestReport, ext: &str) -> String {
    format!(
        "vm-{}-{}-{}-{}_to_{}.{ext}",
        r.guest.vmid,
        r.guest.name,
        r.range.bucket.as_str(),
        stamp(&r.range.start),
        stamp(&r.range.end)
    )
}

/// `all-both-2026-11-01_to_2026-12-01.csv`.
pub fn ranking_file_name(r: &super::Ranking, ext: &str) -> String {
    format!(
        "all-{}-{}_to_{}.{ext}",
        r.direction.as_str(),
        stamp(&r.range.start),
        stamp(&r.range.end)
    )
}

/// `quota-monthly-vm-101-web-2026-11-01.json` or `quota-monthly-all-2026-11-01.json`.
pub fn quota_file_name(q: &super::QuotaStatement, vmid: Option<u32>, ext: &str) -> String {
    let who = match (vmid, q.rows.first()) {
        (Some(v), Some(row)) => format!("vm-{v}-{}", row.guest.name),
        (Some(v), None) => format!("vm-{v}"),
        (None, _) => "all".to_string(),
    };
    format!(
        "quota-{}-{who}-{}.{ext}",
        q.rule.name,
        stamp(&q.window_start)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_never_leave_the_directory_or_hide() {
        assert_eq!(
            safe_file_name("vm-101-web/../etc/x-day-2026-11-01.json"),
            "vm-101-web_.._etc_x-day-2026-11-01.json"
        );
        assert_eq!(safe_file_name("../../etc/x"), "_.._.._etc_x");
        assert_eq!(safe_file_name(".."), "_..");
        assert_eq!(safe_file_name(""), "_");
        assert_eq!(safe_file_name("vm-1-ü ß\\x\0.csv"), "vm-1-____x_.csv");
        let long = format!("vm-1-{}.json", "a".repeat(500));
        let s = safe_file_name(&long);
        assert_eq!(s.len(), MAX_NAME);
        assert!(s.ends_with("a.json"), "{s}");
    }

    #[test]
    fn writes_inside_the_directory_replacing_a_planted_link() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "keep").unwrap();
        std::fs::create_dir(&out).unwrap();
        std::os::unix::fs::symlink(&victim, out.join("r.json")).unwrap();
        let p = write_report(&out, "r.json", b"{}").unwrap();
        assert_eq!(p, out.join("r.json"));
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "{}");
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
        let p = write_report(&out, "../../etc/passwd", b"x").unwrap();
        assert_eq!(p, out.join("_.._.._etc_passwd"));
        assert_eq!(
            std::fs::read_dir(&out).unwrap().count(),
            2,
            "no temporary left"
        );
    }
}
