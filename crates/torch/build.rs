//! Links the worker binary and the tests against the libtorch that ships
//! inside the project's `.venv` (the pinned PyPI `torch` wheel), so that
//! they run without `LD_LIBRARY_PATH`, and keeps libtorch's CUDA backend
//! linked where the wheel has one.

use std::path::{Path, PathBuf};

fn main() {
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    println!("cargo:rerun-if-env-changed=FLAWPROBE_TORCH_LIB");

    let Some(lib_dir) = torch_lib_dir() else {
        println!("cargo:warning=no libtorch found in .venv or LIBTORCH; run `make setup` first");
        return;
    };
    println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib_dir.display());

    // The CUDA backend registers itself from a static initialiser, and no
    // symbol of it is referenced, so an as-needed link drops it unless we say
    // otherwise. With it dropped, `tch::Cuda::is_available()` is false even
    // on a GPU machine.
    if lib_dir.join("libtorch_cuda.so").exists() {
        println!("cargo:rustc-link-search=native={}", lib_dir.display());
        println!("cargo:rustc-link-arg=-Wl,--no-as-needed,-ltorch_cuda,--as-needed");
    }
}

fn torch_lib_dir() -> Option<PathBuf> {
    if let Ok(dir) = std::env::var("FLAWPROBE_TORCH_LIB") {
        return Some(PathBuf::from(dir));
    }
    if let Ok(root) = std::env::var("LIBTORCH") {
        return Some(Path::new(&root).join("lib"));
    }
    // This crate lives in crates/torch; the virtual environment is at the
    // project root.
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").ok()?);
    let venv_lib = manifest.join("../../.venv/lib");
    println!("cargo:rerun-if-changed={}", venv_lib.display());
    let entries = std::fs::read_dir(&venv_lib).ok()?;
    for entry in entries.flatten() {
        let candidate = entry.path().join("site-packages").join("torch").join("lib");
        if candidate.join("libtorch_cpu.so").exists() {
            return Some(candidate);
        }
    }
    None
}
