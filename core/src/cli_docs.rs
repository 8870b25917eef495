//! Man pages and shell completions, generated from the binaries' own clap definitions so
//! they can never disagree with `--help`.
//!
//! Each binary has a hidden `generate` subcommand taking [`GenerateArgs`];
//! `scripts/build-deb` runs it after the release build and the Debian package installs the
//! results (`/usr/share/man/man1`, bash, zsh and fish completion directories).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap_complete::Shell;

/// `generate man|completions DIR`.
#[derive(clap::Args, Debug)]
pub struct GenerateArgs {
    /// What to write.
    what: Docs,
    /// Directory to write into (created if missing).
    dir: PathBuf,
}

/// The kinds of generated documentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Docs {
    /// One man page per command and subcommand: `<bin>.1`, `<bin>-<sub>.1`.
    Man,
    /// `<bin>.bash`, `_<bin>` (zsh) and `<bin>.fish`.
    Completions,
}

impl GenerateArgs {
    /// Writes the files for `cmd` (the binary's `Args::command()`) and lists them on stdout.
    pub fn run(&self, cmd: clap::Command) -> ExitCode {
        match generate(cmd, self.what, &self.dir) {
            Ok(files) => {
                for f in files {
                    println!("{}", f.display());
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("cannot write into {}: {e}", self.dir.display());
                ExitCode::FAILURE
            }
        }
    }
}

/// Writes `what` for `cmd` into `dir`; returns the files written. Hidden subcommands (this
/// one) get no man page.
pub fn generate(mut cmd: clap::Command, what: Docs, dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    cmd.build();
    match what {
        Docs::Man => {
            let mut written = Vec::new();
            write_man(&cmd, cmd.get_name().to_string(), dir, &mut written)?;
            Ok(written)
        }
        Docs::Completions => [Shell::Bash, Shell::Zsh, Shell::Fish]
            .into_iter()
            .map(|shell| {
                let name = cmd.get_name().to_string();
                clap_complete::generate_to(shell, &mut cmd, name, dir)
            })
            .collect(),
    }
}

/// The page of `cmd` (named `name`) and of each visible subcommand, recursively.
fn write_man(
    cmd: &clap::Command,
    name: String,
    dir: &Path,
    written: &mut Vec<PathBuf>,
) -> std::io::Result<()> {
    let page = cmd.clone().name(name.clone());
    let path = dir.join(format!("{name}.1"));
    let mut out = Vec::new();
    clap_mangen::Man::new(page).render(&mut out)?;
    std::fs::write(&path, out)?;
    written.push(path);
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        if sub.get_name() == "help" {
            continue;
        }
        write_man(sub, format!("{name}-{}", sub.get_name()), dir, written)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> clap::Command {
        clap::Command::new("demo-bin")
            .about("A demo")
            .arg(clap::Arg::new("config").long("config"))
            .subcommand(clap::Command::new("run").about("Runs"))
            .subcommand(clap::Command::new("secret-tool").hide(true))
    }

    fn names(files: &[PathBuf]) -> Vec<String> {
        files
            .iter()
            .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn man_pages_for_the_command_and_each_visible_subcommand() {
        let dir = tempfile::tempdir().unwrap();
        let files = generate(sample(), Docs::Man, dir.path()).unwrap();
        assert_eq!(names(&files), ["demo-bin.1", "demo-bin-run.1"]);
        let page = std::fs::read_to_string(&files[0]).unwrap();
        assert!(page.contains(".TH demo-bin 1"), "{page}");
        assert!(page.contains("\\-\\-config"), "{page}");
    }

    #[test]
    fn completions_for_three_shells() {
        let dir = tempfile::tempdir().unwrap();
        let files = generate(sample(), Docs::Completions, dir.path()).unwrap();
        assert_eq!(
            names(&files),
            ["demo-bin.bash", "_demo-bin", "demo-bin.fish"]
        );
        let bash = std::fs::read_to_string(&files[0]).unwrap();
        assert!(bash.contains("--config"), "{bash}");
    }
}
