//! Runs libtorch work in the `flawprobe-torch` worker binary. The main
//! binary never links libtorch, so its start-up (and a no-op `run`) stays
//! fast. The worker's progress bars and errors go to our stderr.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{bail, Context, Result};

const WORKER: &str = "flawprobe-torch";

/// Finds the worker binary: `FLAWPROBE_TORCH_BIN`, else the file beside the
/// running executable (both live in `target/release`, and test binaries in
/// its `deps/` folder, one level down).
pub fn worker_path() -> Result<PathBuf> {
    if let Some(path) = std::env::var_os("FLAWPROBE_TORCH_BIN") {
        return Ok(PathBuf::from(path));
    }
    let exe = std::env::current_exe().context("cannot locate the running executable")?;
    let dir = exe.parent().context("the running executable has no folder")?;
    for candidate in [dir.join(WORKER), dir.join("..").join(WORKER)] {
        if candidate.exists() {
            return Ok(candidate);
        }
    }
    bail!(
        "cannot find the {WORKER} worker binary beside {} (build it with `make build`, or set FLAWPROBE_TORCH_BIN)",
        exe.display()
    )
}

/// Runs the worker with `args` and fails with its exit status when it does.
pub fn run_worker(args: &[String]) -> Result<()> {
    let worker = worker_path()?;
    tracing::debug!("running {} {}", worker.display(), args.join(" "));
    let status = Command::new(&worker)
        .args(args)
        .status()
        .with_context(|| format!("cannot start {}", worker.display()))?;
    if !status.success() {
        bail!("{WORKER} {} failed ({status})", args.first().map(String::as_str).unwrap_or(""));
    }
    Ok(())
}

/// Converts a path to a worker argument.
pub fn arg(path: &std::path::Path) -> String {
    path.to_string_lossy().to_string()
}
