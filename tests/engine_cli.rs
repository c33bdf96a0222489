//! The pipeline engine through the real binary, on real dtd10 images:
//! caching, invalidation, crashes, concurrency, damaged entries and bad
//! input.

mod common;

use std::fs;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{dtd10, venv_python, will_run, Project};

fn project() -> Option<Project> {
    Some(Project::with_dtd10(&dtd10()?, 3, 8))
}

#[test]
fn second_run_computes_nothing() {
    let Some(project) = project() else { return };
    let pipeline = project.basic_pipeline("t", 0, "[0.0, 0.5, 1.0]");
    let pipeline = pipeline.to_str().unwrap();

    project.run(&["run", pipeline]).ok().assert_stderr_has("7 computed, 0 cached");
    let second = project.run(&["run", pipeline]).ok();

    second.assert_stderr_has("0 computed, 7 cached");
    project.run(&["status", pipeline]).ok().assert_stdout_has("everything is cached");
}

#[test]
fn editing_p_reruns_only_those_permute_instances() {
    let Some(project) = project() else { return };
    let pipeline = project.basic_pipeline("t", 0, "[0.0, 0.5, 1.0]");
    let path = pipeline.to_str().unwrap();
    project.run(&["run", path]).ok();

    project.basic_pipeline("t", 0, "[0.0, 0.25, 1.0]");
    let status = project.run(&["status", path]).ok();
    let lines = will_run(&status);
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines.iter().all(|l| l.contains("permute[p=0.25,")), "{lines:?}");
    project.run(&["run", path]).ok().assert_stderr_has("2 computed, 5 cached");

    project.basic_pipeline("t", 0, "[0.0, 0.5, 1.0]");
    project.run(&["status", path]).ok().assert_stdout_has("everything is cached");
    project.run(&["run", path]).ok().assert_stderr_has("0 computed, 7 cached");
}

#[test]
fn editing_split_seed_reruns_everything_below_and_revert_finds_old_entries() {
    let Some(project) = project() else { return };
    let pipeline = project.basic_pipeline("t", 0, "[0.0, 1.0]");
    let path = pipeline.to_str().unwrap();
    project.run(&["run", path]).ok();

    project.basic_pipeline("t", 1, "[0.0, 1.0]");
    let status = project.run(&["status", path]).ok();
    let lines = will_run(&status);
    assert_eq!(lines.len(), 5, "{lines:?}");
    assert!(lines[0].contains("split"), "{lines:?}");
    assert!(lines[0].contains("parameter seed changed 0 -> 1"), "{lines:?}");
    assert!(lines[1..].iter().all(|l| l.contains("input split changed")), "{lines:?}");
    project.run(&["run", path]).ok().assert_stderr_has("5 computed, 0 cached");

    project.basic_pipeline("t", 0, "[0.0, 1.0]");
    project.run(&["run", path]).ok().assert_stderr_has("0 computed, 5 cached");
}

#[test]
fn touching_an_image_reruns_nothing_but_new_bytes_rerun_split() {
    let Some(project) = project() else { return };
    let pipeline = project.basic_pipeline("t", 0, "[0.5]");
    let path = pipeline.to_str().unwrap();
    project.run(&["run", path]).ok();
    let class_dir = fs::read_dir(project.dataset().join("images")).unwrap().flatten().next().unwrap().path();
    let image = fs::read_dir(&class_dir).unwrap().flatten().next().unwrap().path();

    let bytes = fs::read(&image).unwrap();
    std::thread::sleep(Duration::from_millis(20));
    fs::write(&image, &bytes).unwrap();
    project.run(&["run", path]).ok().assert_stderr_has("0 computed, 3 cached");

    let mut changed = bytes.clone();
    let last = changed.len() - 3;
    changed[last] ^= 0x01;
    fs::write(&image, &changed).unwrap();
    let status = project.run(&["status", path]).ok();
    assert_eq!(will_run(&status).len(), 3, "{}", status.stdout());
    assert!(status.stdout().contains("input images changed"), "{}", status.stdout());
    project.run(&["run", path]).ok().assert_stderr_has("3 computed, 0 cached");
}

#[test]
fn sigkill_during_a_stage_leaves_no_trusted_entry() {
    let Some(project) = project() else { return };
    let pipeline = project.basic_pipeline("t", 0, "[1.0]");
    let path = pipeline.to_str().unwrap();
    project.run(&["run", path, "--until", "split"]).ok();

    let mut child = project
        .command(&["run", path, "--jobs", "1"])
        .env("FLAWPROBE_TEST_PAUSE", "permute:20000")
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let tmp = project.path().join("cache/.tmp");
    let deadline = Instant::now() + Duration::from_secs(30);
    let written = loop {
        let found = fs::read_dir(&tmp)
            .into_iter()
            .flatten()
            .flatten()
            .any(|dir| dir.path().join("labels.arrow").exists());
        if found || Instant::now() > deadline {
            break found;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(written, "the permute stage never wrote its output");

    assert!(project.entries().iter().all(|e| !e.starts_with("permute/")), "{:?}", project.entries());
    project.run(&["run", path]).ok().assert_stderr_has("2 computed, 1 cached");
    let leftovers = fs::read_dir(&tmp).unwrap().count();
    assert_eq!(leftovers, 0, "stale temporary directories were not cleaned");
}

#[test]
fn two_concurrent_runs_both_succeed_with_one_entry_per_key() {
    let Some(project) = project() else { return };
    let pipeline = project.basic_pipeline("t", 0, "[0.0, 0.5, 1.0]");
    let path = pipeline.to_str().unwrap();

    let spawn = || {
        project
            .command(&["run", path])
            .env("FLAWPROBE_TEST_PAUSE", "split:300")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let first = spawn();
    let second = spawn();
    let first = first.wait_with_output().unwrap();
    let second = second.wait_with_output().unwrap();

    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    assert!(second.status.success(), "{}", String::from_utf8_lossy(&second.stderr));
    let entries = project.entries();
    assert_eq!(entries.len(), 7, "{entries:?}");
    let computed_here = |stderr: &[u8]| String::from_utf8_lossy(stderr).matches("computed ").count()
        - String::from_utf8_lossy(stderr).matches("computed by another run").count();
    assert_eq!(
        computed_here(&first.stderr) + computed_here(&second.stderr),
        7,
        "each key must be computed exactly once\n{}\n{}",
        String::from_utf8_lossy(&first.stderr),
        String::from_utf8_lossy(&second.stderr)
    );
}

#[test]
fn truncated_entry_file_is_detected_and_recomputed() {
    let Some(project) = project() else { return };
    let pipeline = project.basic_pipeline("t", 0, "[0.5]");
    let path = pipeline.to_str().unwrap();
    project.run(&["run", path]).ok();
    let entry = project.entries().into_iter().find(|e| e.starts_with("permute/")).unwrap();
    let file = project.path().join("cache").join(&entry).join("labels.arrow");
    let original = fs::read(&file).unwrap();
    fs::write(&file, &original[..original.len() / 2]).unwrap();

    let status = project.run(&["status", path]).ok();
    assert!(status.stdout().contains("damaged"), "{}", status.stdout());
    let run = project.run(&["run", path]).ok();

    run.assert_stderr_has("damaged");
    run.assert_stderr_has("1 computed, 2 cached");
    assert_eq!(fs::read(&file).unwrap(), original);
}

#[test]
fn outputs_open_in_pyarrow_and_permutation_keeps_label_counts() {
    let Some(project) = project() else { return };
    let Some(python) = venv_python() else { return };
    let pipeline = project.basic_pipeline("t", 0, "[1.0]");
    project.run(&["run", pipeline.to_str().unwrap()]).ok();
    let script = r#"
import collections, pyarrow.ipc as ipc, sys
split = ipc.open_file("results/t/split.arrow").read_all()
assert split.num_rows == 24, split.num_rows
assert split.column_names == ["image_id", "path", "class", "label", "split", "hash"], split.column_names
for seed in (0, 1):
    labels = ipc.open_file(f"results/t/permute/p=1,seed={seed}/labels.arrow").read_all().to_pylist()
    assert len(labels) == 24
    train = [r for r in labels if r["split"] == "train"]
    assert collections.Counter(r["true_label"] for r in train) == collections.Counter(r["train_label"] for r in train)
    assert all(r["selected"] for r in train)
    assert any(r["changed"] for r in train)
    assert not any(r["selected"] for r in labels if r["split"] != "train")
print("pyarrow ok")
"#;
    let output = std::process::Command::new(python)
        .args(["-c", script])
        .current_dir(project.path())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}

#[test]
fn unknown_config_key_is_named_with_its_line() {
    let Some(project) = project() else { return };
    let text = format!(
        "[dataset]\nroot = \"{}\"\n\n[permute]\np = [0.5]\nsed = 3\n",
        project.dataset().display()
    );
    let pipeline = project.pipeline("t", &text);
    project.run(&["run", pipeline.to_str().unwrap()]).fails_with(&["sed", "line 6"]);
}

#[test]
fn bad_dataset_errors_name_the_path_and_keep_the_cache() {
    let Some(project) = project() else { return };
    let pipeline = project.basic_pipeline("t", 0, "[0.5]");
    let path = pipeline.to_str().unwrap();
    project.run(&["run", path]).ok();
    let before = project.cache_files();
    let images = project.dataset().join("images");

    let empty = images.join("zz_empty");
    fs::create_dir(&empty).unwrap();
    project.run(&["run", path]).fails_with(&["zz_empty", "contains no images"]);
    fs::remove_dir(&empty).unwrap();

    let class_dir = fs::read_dir(&images).unwrap().flatten().next().unwrap().path();
    let zero = class_dir.join("zero.jpg");
    fs::write(&zero, b"").unwrap();
    project.run(&["run", path]).fails_with(&["zero.jpg", "0 bytes"]);
    fs::remove_file(&zero).unwrap();

    let text_file = class_dir.join("notes.jpg");
    fs::write(&text_file, b"this is not a picture").unwrap();
    project.run(&["run", path]).fails_with(&["notes.jpg", "not a JPEG or PNG"]);
    fs::remove_file(&text_file).unwrap();

    let readme = class_dir.join("README.txt");
    fs::write(&readme, b"hello").unwrap();
    project.run(&["run", path]).fails_with(&["README.txt", "not an image file"]);
    fs::remove_file(&readme).unwrap();

    let missing = project.pipeline("missing", "[dataset]\nroot = \"/nonexistent/dtd\"\n");
    project
        .run(&["run", missing.to_str().unwrap()])
        .fails_with(&["/nonexistent/dtd", "not found"]);

    let after: Vec<String> = project.cache_files().into_iter().filter(|f| !f.ends_with(".statcache.tsv")).collect();
    let before: Vec<String> = before.into_iter().filter(|f| !f.ends_with(".statcache.tsv")).collect();
    assert_eq!(before, after, "a failed run changed the cache");
    project.run(&["run", path]).ok().assert_stderr_has("0 computed, 3 cached");
}

#[test]
fn dag_prints_dot_and_mermaid() {
    let Some(project) = project() else { return };
    let pipeline = project.basic_pipeline("t", 0, "[0.5]");
    let path = pipeline.to_str().unwrap();
    let dot = project.run(&["dag", path]).ok();
    dot.assert_stdout_has("digraph");
    dot.assert_stdout_has("n0 -> n1;");
    let mermaid = project.run(&["dag", path, "--format", "mermaid"]).ok();
    mermaid.assert_stdout_has("flowchart LR");
    mermaid.assert_stdout_has("n0 --> n1");
}

#[test]
fn gc_removes_entries_no_pipeline_references() {
    let Some(project) = project() else { return };
    let pipeline = project.basic_pipeline("t", 0, "[0.0, 0.5]");
    let path = pipeline.to_str().unwrap();
    project.run(&["run", path]).ok();
    project.basic_pipeline("t", 0, "[0.0]");

    let gc = project.run(&["gc", "--pipelines", "pipelines"]).ok();

    gc.assert_stdout_has("removed 2 entries");
    assert_eq!(project.entries().len(), 3, "{:?}", project.entries());
    project.run(&["run", path]).ok().assert_stderr_has("0 computed, 3 cached");
}

#[test]
fn show_prints_schema_and_rows_of_a_stage() {
    let Some(project) = project() else { return };
    let pipeline = project.basic_pipeline("t", 0, "[0.5]");
    let path = pipeline.to_str().unwrap();
    project.run(&["run", path]).ok();
    let show = project.run(&["show", "split", "--pipeline", path, "--rows", "3"]).ok();
    show.assert_stdout_has("24 rows");
    show.assert_stdout_has("image_id: UInt32");
    let by_path = project.run(&["show", "results/t/split.arrow"]).ok();
    by_path.assert_stdout_has("hash: Utf8");
}
