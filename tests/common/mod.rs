//! Helpers shared by the CLI tests: a project folder in a temporary
//! directory with a small DTD-layout dataset copied from dtd10, and a runner
//! that shows the command, both output streams and the folder listing when
//! an expectation fails.

#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const BIN: &str = env!("CARGO_BIN_EXE_flawprobe");

/// The dtd10 dataset beside the project, or `None` (with a message) when
/// it is absent.
pub fn dtd10() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/datasets/dtd10");
    if root.join("images").is_dir() {
        Some(root)
    } else {
        eprintln!("skipped: {} is absent", root.display());
        None
    }
}

/// The project's Python with pyarrow and duckdb, or `None` (with a message).
pub fn venv_python() -> Option<PathBuf> {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    if python.exists() {
        Some(python)
    } else {
        eprintln!("skipped: {} is absent (run `make setup`)", python.display());
        None
    }
}

/// A throwaway project: `dataset/` (a few dtd10 classes), `pipelines/`, and
/// the cache and results folders the binary creates.
pub struct Project {
    pub dir: tempfile::TempDir,
}

pub struct Run {
    pub command: String,
    pub output: Output,
    pub listing: String,
}

impl Run {
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).to_string()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).to_string()
    }

    fn describe(&self) -> String {
        format!(
            "command: {}\nexit: {:?}\n--- stdout\n{}\n--- stderr\n{}\n--- files\n{}",
            self.command,
            self.output.status.code(),
            self.stdout(),
            self.stderr(),
            self.listing
        )
    }

    /// Asserts success and returns self.
    pub fn ok(self) -> Run {
        assert!(self.output.status.success(), "expected success\n{}", self.describe());
        self
    }

    /// Asserts failure whose stderr contains every fragment.
    pub fn fails_with(self, fragments: &[&str]) -> Run {
        assert!(!self.output.status.success(), "expected failure\n{}", self.describe());
        let stderr = self.stderr();
        for fragment in fragments {
            assert!(stderr.contains(fragment), "stderr lacks {fragment:?}\n{}", self.describe());
        }
        self
    }

    pub fn stderr_has(&self, fragment: &str) -> bool {
        self.stderr().contains(fragment)
    }

    pub fn assert_stdout_has(&self, fragment: &str) {
        assert!(self.stdout().contains(fragment), "stdout lacks {fragment:?}\n{}", self.describe());
    }

    pub fn assert_stderr_has(&self, fragment: &str) {
        assert!(self.stderr().contains(fragment), "stderr lacks {fragment:?}\n{}", self.describe());
    }
}

impl Project {
    /// A project with only an empty `pipelines/` folder.
    pub fn empty() -> Project {
        let dir = tempfile::tempdir().expect("temporary directory");
        fs::create_dir_all(dir.path().join("pipelines")).expect("pipelines folder");
        Project { dir }
    }

    /// A project with `classes` classes of `per_class` dtd10 images each.
    pub fn with_dtd10(source: &Path, classes: usize, per_class: usize) -> Project {
        let dir = tempfile::tempdir().expect("temporary directory");
        let mut names: Vec<_> = fs::read_dir(source.join("images"))
            .expect("dtd10 images")
            .flatten()
            .map(|e| e.file_name())
            .collect();
        names.sort();
        for class in names.iter().take(classes) {
            let from = source.join("images").join(class);
            let to = dir.path().join("dataset/images").join(class);
            fs::create_dir_all(&to).expect("class folder");
            let mut files: Vec<_> = fs::read_dir(&from).expect("class").flatten().map(|e| e.path()).collect();
            files.sort();
            for file in files.iter().take(per_class) {
                fs::copy(file, to.join(file.file_name().expect("name"))).expect("copy image");
            }
        }
        fs::create_dir_all(dir.path().join("pipelines")).expect("pipelines folder");
        Project { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn dataset(&self) -> PathBuf {
        self.path().join("dataset")
    }

    /// Writes `pipelines/<name>.toml`.
    pub fn pipeline(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path().join("pipelines").join(format!("{name}.toml"));
        fs::write(&path, text).expect("pipeline file");
        path
    }

    /// The split + permute pipeline used by most engine tests.
    pub fn basic_pipeline(&self, name: &str, split_seed: u64, ps: &str) -> PathBuf {
        let text = format!(
            "[dataset]\nroot = \"{}\"\n\n[split]\nseed = {split_seed}\n\n[permute]\np = {ps}\nseed = [0, 1]\n",
            self.dataset().display()
        );
        self.pipeline(name, &text)
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(BIN);
        command.args(args).current_dir(self.path()).env_remove("FLAWPROBE_CACHE").env_remove("DTD_DIR");
        command
    }

    /// Runs the binary to completion in the project folder.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with(args, &[])
    }

    pub fn run_with(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut command = self.command(args);
        for (name, value) in env {
            command.env(name, value);
        }
        let output = command.output().expect("run flawprobe");
        Run {
            command: format!("flawprobe {}", args.join(" ")),
            output,
            listing: self.listing(),
        }
    }

    /// Every file under the project's cache, relative, sorted.
    pub fn cache_files(&self) -> Vec<String> {
        let mut files = Vec::new();
        walk(&self.path().join("cache"), &mut files);
        let prefix = self.path().join("cache");
        let mut names: Vec<String> = files
            .iter()
            .map(|f| f.strip_prefix(&prefix).unwrap_or(f).to_string_lossy().to_string())
            .collect();
        names.sort();
        names
    }

    /// Committed entries as `stage/key`, sorted.
    pub fn entries(&self) -> Vec<String> {
        let mut entries = Vec::new();
        let cache = self.path().join("cache");
        let Ok(stages) = fs::read_dir(&cache) else { return entries };
        for stage in stages.flatten() {
            let name = stage.file_name().to_string_lossy().to_string();
            if name.starts_with('.') || !stage.path().is_dir() {
                continue;
            }
            for entry in fs::read_dir(stage.path()).into_iter().flatten().flatten() {
                entries.push(format!("{name}/{}", entry.file_name().to_string_lossy()));
            }
        }
        entries.sort();
        entries
    }

    fn listing(&self) -> String {
        let mut files = Vec::new();
        walk(self.path(), &mut files);
        let mut lines: Vec<String> = files
            .iter()
            .filter(|f| !f.to_string_lossy().contains("/dataset/"))
            .map(|f| f.strip_prefix(self.path()).unwrap_or(f).display().to_string())
            .collect();
        lines.sort();
        lines.join("\n")
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() && !path.is_symlink() {
            walk(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// Counts lines of `flawprobe status` output that start with `will run`.
pub fn will_run(status: &Run) -> Vec<String> {
    status
        .stdout()
        .lines()
        .filter(|line| line.starts_with("will run"))
        .map(str::to_string)
        .collect()
}
