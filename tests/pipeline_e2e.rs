//! The whole study end to end on the built-in synthetic textures, with a
//! tiny network: every stage runs for real (libtorch training in the worker,
//! activation dumps, concepts, probes, report), then the outputs are read
//! back with DuckDB and pyarrow.

mod common;

use std::process::Command;

use common::{venv_python, will_run, Project};

const LAYERS: [&str; 4] = ["block1", "block2", "block3", "block4"];

fn pipeline_text(alphas: &str) -> String {
    format!(
        r#"[dataset]
root = "data"

[split]
fractions = [0.5, 0.25, 0.25]

[permute]
p = [0.0, 1.0]
seed = [0]

[decode]
size = 32

[concepts]

[train]
model = "small-cnn"
lr = 0.003
batch_size = 16
epochs = 2
checkpoint_every = 1
augment = false
device = "cpu"
threads = 2

[activations]
layers = ["block1", "block2", "block3", "block4"]

[randomised]
layers = ["block4", "block2"]

[probe]
alphas = {alphas}
probes = ["ridge", "ridge-classifier"]

[report]
title = "test report"
"#
    )
}

/// Builds a project with 120 synthetic images and runs the tiny study.
fn finished_project() -> Project {
    let project = Project::empty();
    project.run(&["synth", "--out", "data", "--per-class", "12", "--size", "48"]).ok();
    let pipeline = project.pipeline("tiny", &pipeline_text("[1.0, 100.0]"));
    project.run(&["run", pipeline.to_str().unwrap(), "--jobs", "2"]).ok();
    project
}

fn python(project: &Project, script: &str, args: &[&str]) -> String {
    let python = venv_python().expect("checked by the caller");
    let output = Command::new(python)
        .arg("-c")
        .arg(script)
        .args(args)
        .current_dir(project.path())
        .output()
        .expect("run python");
    assert!(
        output.status.success(),
        "python failed\n--- stdout\n{}\n--- stderr\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).to_string()
}

#[test]
fn whole_study_runs_and_its_outputs_read_back() {
    if venv_python().is_none() {
        return;
    }
    let project = finished_project();
    let results = project.path().join("results/tiny");
    for file in ["probes.parquet", "training.parquet", "report.html", "summary.md", "concepts.arrow"] {
        assert!(results.join(file).exists(), "results/tiny/{file} is missing");
    }

    // Every (variant, layer, concept) of the pipeline has a row, read with DuckDB.
    let script = r#"
import duckdb, sys
con = duckdb.connect()
cols = [r[0] for r in con.execute("DESCRIBE SELECT * FROM 'results/tiny/probes.parquet'").fetchall()]
expected = ["variant", "corruption", "seed", "epoch", "layer", "layer_index", "randomised_from", "target",
            "target_kind", "probe", "alpha", "metric", "mean", "std", "control_mean", "selectivity",
            "best_alpha", "n_rows", "n_features", "n_folds"]
assert cols == expected, cols
rows = con.execute("""
    SELECT variant, layer, count(DISTINCT target) FROM 'results/tiny/probes.parquet'
    WHERE probe = 'ridge' GROUP BY ALL ORDER BY ALL""").fetchall()
for variant, layer, targets in rows:
    print(variant, layer, targets)
"#;
    let listing = python(&project, script, &[]);
    for variant in ["generalising", "memorising", "random", "randomised"] {
        for layer in LAYERS {
            let line = format!("{variant} {layer} 17");
            assert!(listing.lines().any(|l| l == line), "no 17 concepts for {variant} {layer}:\n{listing}");
        }
    }
}

#[test]
fn editing_one_alpha_reruns_only_probe_and_report() {
    if venv_python().is_none() {
        return;
    }
    let project = finished_project();
    let pipeline = project.pipeline("tiny", &pipeline_text("[1.0, 10.0]"));
    let path = pipeline.to_str().unwrap();

    let status = project.run(&["status", path]).ok();
    let lines = will_run(&status);
    assert_eq!(lines.len(), 2, "{}", status.stdout());
    assert!(lines[0].starts_with("will run  probe"), "{lines:?}");
    assert!(lines[0].contains("parameter alphas changed"), "{lines:?}");
    assert!(lines[1].starts_with("will run  report"), "{lines:?}");
    assert!(lines[1].contains("input probe changed"), "{lines:?}");

    let run = project.run(&["run", path]).ok();
    run.assert_stderr_has("running probe");
    run.assert_stderr_has("running report");
    assert!(!run.stderr_has("running train"), "{}", run.stderr());
    run.assert_stderr_has("2 computed, 15 cached");
}

#[test]
fn probes_recover_a_colour_the_generator_controls() {
    if venv_python().is_none() {
        return;
    }
    let project = finished_project();
    // The generator records each image's foreground and background colours
    // and coverage, so its mean red value is exact. Ridge on the untrained
    // network's block1 activations must recover it.
    let script = r#"
import csv, sys, pyarrow as pa, pyarrow.ipc as ipc, pyarrow.parquet as pq
split = ipc.open_file("results/tiny/split.arrow").read_all().to_pylist()
truth = {r["path"]: r for r in csv.DictReader(open("data/concepts.csv"))}
def mean_red(r):
    c = float(r["coverage"])
    return c * int(r["fg_rgb"][1:3], 16) + (1 - c) * int(r["bg_rgb"][1:3], 16)
acts = ipc.open_file(sys.argv[1]).read_all()
ids = acts.column("image_id").to_pylist()
pq.write_table(pa.table({"mean_red": [mean_red(truth["images/" + split[i]["path"]]) for i in ids]}), "targets.parquet")
"#;
    let acts = "results/tiny/activations/p=0,seed=0,epoch=0/acts-block1.arrow";
    python(&project, script, &[acts]);
    project
        .run(&[
            "probe", "--features", acts, "--targets", "targets.parquet", "--target-columns", "mean_red",
            "--probes", "ridge", "--out", "recovered.parquet",
        ])
        .ok();

    let best = python(
        &project,
        "import pyarrow.parquet as pq; print(max(r['mean'] for r in pq.read_table('recovered.parquet').to_pylist()))",
        &[],
    );
    let r2: f64 = best.trim().parse().expect("a number");
    assert!(r2 > 0.8, "held-out R² of the planted mean red is only {r2}");
}

#[test]
fn killed_run_resumes_training_where_it_stopped() {
    if venv_python().is_none() {
        return;
    }
    let project = Project::empty();
    project.run(&["synth", "--out", "data", "--per-class", "12", "--size", "48"]).ok();
    let text = pipeline_text("[1.0]")
        .replace("epochs = 2\n", "epochs = 40\n")
        .replace("p = [0.0, 1.0]", "p = [0.0]");
    let pipeline = project.pipeline("tiny", &text);
    let path = pipeline.to_str().unwrap();
    project.run(&["run", path, "--until", "permute"]).ok();

    // Kill the whole run (the worker dies with it) once a resume state exists.
    let mut child = project
        .command(&["run", path, "--until", "train", "--jobs", "1"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let scratch = project.path().join("cache/.scratch/train");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let saved = loop {
        // Wait for a state past epoch 1, so resuming differs from restarting.
        let found = std::fs::read_dir(&scratch).into_iter().flatten().flatten().any(|entry| {
            let state = std::fs::read_to_string(entry.path().join("work/state.json")).unwrap_or_default();
            serde_json::from_str::<serde_json::Value>(&state)
                .ok()
                .and_then(|v| v["epoch"].as_u64())
                .is_some_and(|epoch| epoch >= 2)
        });
        if found || std::time::Instant::now() > deadline {
            break found;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(saved, "no training state appeared within two minutes");
    assert!(project.entries().iter().all(|e| !e.starts_with("train/")), "{:?}", project.entries());

    let rerun = project.run(&["run", path, "--until", "train", "--jobs", "1"]).ok();
    rerun.assert_stderr_has("resuming from epoch");
    let restarted = rerun.stderr().lines().any(|l| l.starts_with("epoch 0:") || l.starts_with("epoch 1:"));
    assert!(!restarted, "the rerun trained from scratch:\n{}", rerun.stderr());
}
