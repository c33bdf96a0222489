//! `flawprobe concepts` run as a real binary in a temporary folder.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use image::{DynamicImage, ImageBuffer, ImageFormat, Rgb};

const BINARY: &str = env!("CARGO_BIN_EXE_flawprobe");
const PYTHON: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/.venv/bin/python");

/// A temporary folder with two valid images under `images/`.
struct Workspace {
    dir: tempfile::TempDir,
}

impl Workspace {
    fn new() -> Workspace {
        let dir = tempfile::tempdir().unwrap();
        let images = dir.path().join("images");
        std::fs::create_dir(&images).unwrap();
        let good = DynamicImage::ImageRgb8(ImageBuffer::from_fn(24, 16, |x, y| {
            Rgb([(x * 10) as u8, (y * 15) as u8, 128])
        }));
        good.save_with_format(images.join("a.png"), ImageFormat::Png).unwrap();
        good.save_with_format(images.join("b.jpg"), ImageFormat::Jpeg).unwrap();
        Workspace { dir }
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    fn write(&self, relative: &str, bytes: &[u8]) -> PathBuf {
        let path = self.path(relative);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(BINARY)
            .arg("concepts")
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .unwrap()
    }

    /// What a failing assertion shows: the command, the folder and both
    /// output streams.
    fn explain(&self, args: &[&str], output: &Output) -> String {
        let listing: Vec<_> = walk(self.dir.path());
        format!(
            "command: flawprobe concepts {}\nstatus: {}\nfiles: {listing:?}\nstdout:\n{}\nstderr:\n{}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
        )
    }
}

fn walk(dir: &Path) -> Vec<String> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            names.extend(walk(&path));
        } else {
            names.push(path.display().to_string());
        }
    }
    names.sort();
    names
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Runs `code` in the project's Python with the table path as `sys.argv[1]`;
/// returns None (and prints why) when the interpreter or a module is absent.
fn python(code: &str, table: &Path, modules: &str) -> Option<String> {
    let probe = Command::new(PYTHON).args(["-c", &format!("import {modules}")]).status();
    if !probe.is_ok_and(|status| status.success()) {
        eprintln!("skipping the {modules} read-back: {PYTHON} cannot import it");
        return None;
    }
    let output = Command::new(PYTHON).args(["-c", code]).arg(table).output().unwrap();
    assert!(output.status.success(), "python failed:\n{}", stderr(&output));
    Some(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

const EXPECTED_COLUMNS: &str = "path,red,orange,yellow,green,cyan,blue,purple,magenta,black,white,\
colorfulness,contrast,dissimilarity,homogeneity,ASM,energy,correlation";

#[test]
fn parquet_output_reads_back_in_pyarrow_and_duckdb() {
    let work = Workspace::new();
    let args = ["images", "--out", "concepts.parquet"];
    let output = work.run(&args);
    assert!(output.status.success(), "{}", work.explain(&args, &output));

    let table = work.path("concepts.parquet");
    let pyarrow = python(
        "import sys, pyarrow.parquet as pq\n\
         t = pq.read_table(sys.argv[1])\n\
         print(t.num_rows, ','.join(t.schema.names), t.schema.field('red').type)",
        &table,
        "pyarrow",
    );
    if let Some(line) = pyarrow {
        assert_eq!(line, format!("2 {EXPECTED_COLUMNS} double"));
    }

    let duckdb = python(
        "import sys, duckdb\n\
         rel = duckdb.sql(f\"select * from read_parquet('{sys.argv[1]}') order by path\")\n\
         rows = rel.fetchall()\n\
         print(len(rows), ','.join(rel.columns), rows[0][0])",
        &table,
        "duckdb",
    );
    if let Some(line) = duckdb {
        assert_eq!(line, format!("2 {EXPECTED_COLUMNS} images/a.png"));
    }
}

#[test]
fn arrow_output_with_reference_semantics_reads_back() {
    let work = Workspace::new();
    let args = ["images/a.png", "--out", "concepts.arrow", "--semantics", "reference-code"];
    let output = work.run(&args);
    assert!(output.status.success(), "{}", work.explain(&args, &output));

    let line = python(
        "import sys, pyarrow as pa\n\
         t = pa.ipc.open_file(sys.argv[1]).read_all()\n\
         print(t.num_rows, ','.join(t.schema.names))",
        &work.path("concepts.arrow"),
        "pyarrow",
    );
    if let Some(line) = line {
        assert_eq!(line, format!("1 {EXPECTED_COLUMNS}"));
    }
}

#[test]
fn bad_files_fail_naming_file_and_reason() {
    let cases: [(&str, Vec<u8>, &str); 4] = [
        ("corrupt.jpg", [0xFF, 0xD8, 0xFF, 0xE0].into_iter().chain([0x42; 300]).collect(), "corrupt"),
        ("zero.png", Vec::new(), "empty"),
        ("notes.png", b"plain text, not pixels".to_vec(), "not a JPEG or PNG"),
        ("cut.png", Vec::new(), "truncated"),
    ];
    for (name, bytes, reason) in cases {
        let work = Workspace::new();
        let bytes = if name == "cut.png" {
            let full = std::fs::read(work.path("images/a.png")).unwrap();
            full[..full.len() / 2].to_vec()
        } else {
            bytes
        };
        work.write(&format!("images/{name}"), &bytes);

        let args = ["images", "--out", "concepts.parquet"];
        let output = work.run(&args);
        let explanation = work.explain(&args, &output);
        assert!(!output.status.success(), "{explanation}");
        assert!(stderr(&output).contains(name), "{explanation}");
        assert!(stderr(&output).contains(reason), "{explanation}");
        assert!(!work.path("concepts.parquet").exists(), "{explanation}");
    }
}

#[test]
fn skip_bad_lists_skipped_files_and_writes_good_rows() {
    let work = Workspace::new();
    work.write("images/zero.jpg", b"");
    work.write("images/notes.png", b"plain text");
    let args = ["images", "--out", "concepts.parquet", "--skip-bad"];
    let output = work.run(&args);
    let explanation = work.explain(&args, &output);
    assert!(output.status.success(), "{explanation}");
    assert!(stderr(&output).contains("skipped 2 files"), "{explanation}");
    assert!(stderr(&output).contains("zero.jpg"), "{explanation}");
    assert!(stderr(&output).contains("notes.png"), "{explanation}");

    let rows = python(
        "import sys, pyarrow.parquet as pq\nprint(pq.read_table(sys.argv[1]).num_rows)",
        &work.path("concepts.parquet"),
        "pyarrow",
    );
    if let Some(rows) = rows {
        assert_eq!(rows, "2");
    }
}

#[test]
fn huge_declared_png_is_refused() {
    let work = Workspace::new();
    // Signature and an IHDR chunk declaring 20000×20000 RGB (CRC included).
    let mut bytes = vec![0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1A, b'\n', 0, 0, 0, 13];
    bytes.extend(b"IHDR");
    bytes.extend(20_000u32.to_be_bytes());
    bytes.extend(20_000u32.to_be_bytes());
    bytes.extend([8, 2, 0, 0, 0]);
    bytes.extend([0; 4]);
    work.write("images/huge.png", &bytes);

    let args = ["images/huge.png", "--out", "concepts.parquet"];
    let output = work.run(&args);
    let explanation = work.explain(&args, &output);
    assert!(!output.status.success(), "{explanation}");
    assert!(stderr(&output).contains("huge.png"), "{explanation}");
    assert!(stderr(&output).contains("20000×20000 exceeds the limit"), "{explanation}");
}

#[test]
fn unknown_output_extension_is_refused() {
    let work = Workspace::new();
    let args = ["images", "--out", "concepts.csv"];
    let output = work.run(&args);
    let explanation = work.explain(&args, &output);
    assert!(!output.status.success(), "{explanation}");
    assert!(stderr(&output).contains("concepts.csv"), "{explanation}");
}

#[test]
fn folder_without_images_is_refused() {
    let work = Workspace::new();
    std::fs::create_dir(work.path("empty")).unwrap();
    let args = ["empty", "--out", "concepts.parquet"];
    let output = work.run(&args);
    let explanation = work.explain(&args, &output);
    assert!(!output.status.success(), "{explanation}");
    assert!(stderr(&output).contains("no JPEG or PNG files"), "{explanation}");
}
