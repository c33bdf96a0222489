//! A training run killed with SIGKILL resumes from its work directory and
//! ends with the same checkpoint as a run that was never interrupted.

mod train_support;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use tempfile::tempdir;
use train_support::write_dataset;

const EPOCHS: u32 = 6;

fn worker(args: &[&Path], config: &Path) -> Command {
    let [split, images, labels, work, out] = args else { unreachable!() };
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_flawprobe-torch"));
    cmd.arg("train").arg("--config").arg(config);
    cmd.arg("--split").arg(split).arg("--images").arg(images).arg("--labels").arg(labels);
    cmd.arg("--work-dir").arg(work).arg("--out").arg(out);
    cmd
}

fn describe(output: &Output) -> String {
    format!(
        "status {}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn finished_epoch(work: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(work.join("state.json")).ok()?;
    let state: serde_json::Value = serde_json::from_str(&text).ok()?;
    state["epoch"].as_u64()
}

#[test]
fn killed_training_resumes_and_matches_an_uninterrupted_run() {
    let dir = tempdir().unwrap();
    let data = write_dataset(dir.path(), 400, 32, 0.5);
    let config = dir.path().join("train.json");
    let cfg = serde_json::json!({
        "model": "small-cnn", "image_size": 32, "num_classes": 4, "optimizer": "adam",
        "lr": 0.002, "batch_size": 16, "epochs": EPOCHS, "checkpoint_epochs": [0, 2, EPOCHS],
        "augment": true, "seed": 21, "device": "cpu", "threads": 1
    });
    std::fs::write(&config, cfg.to_string()).unwrap();
    let work = dir.path().join("work");
    let out = dir.path().join("out");
    let paths = [data.split.as_path(), &data.images, &data.labels, &work, &out];

    let mut child = worker(&paths, &config).stderr(Stdio::null()).spawn().unwrap();
    let started = Instant::now();
    while finished_epoch(&work).is_none_or(|e| e < 1) {
        assert!(child.try_wait().unwrap().is_none(), "the worker exited before it could be killed");
        assert!(started.elapsed() < Duration::from_secs(300), "no epoch finished within 300 s");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
    let killed_after = finished_epoch(&work).unwrap();
    assert!(killed_after < u64::from(EPOCHS), "the run finished before the kill");

    let resumed = worker(&paths, &config).output().unwrap();
    assert!(resumed.status.success(), "{}", describe(&resumed));
    let stderr = String::from_utf8_lossy(&resumed.stderr);
    let resumed_from: u64 = stderr
        .lines()
        .find_map(|l| l.strip_prefix("resuming from epoch "))
        .unwrap_or_else(|| panic!("no resume message\n{}", describe(&resumed)))
        .trim()
        .parse()
        .unwrap();
    assert!(resumed_from >= killed_after && resumed_from >= 1, "resumed from {resumed_from}");
    assert!(!stderr.contains("epoch 0:"), "the resumed run redid epoch 0\n{stderr}");

    let log = flawprobe::table::read(&out.join("log.arrow")).unwrap();
    let epochs = log.column(0).as_any().downcast_ref::<arrow::array::UInt32Array>().unwrap();
    assert_eq!(epochs.values().to_vec(), (0..=EPOCHS).collect::<Vec<_>>());
    for epoch in [0, 2, EPOCHS] {
        let checkpoint = out.join(format!("checkpoints/epoch-{epoch:04}.safetensors"));
        assert!(checkpoint.exists(), "{} is missing", checkpoint.display());
    }

    let fresh_work = dir.path().join("fresh-work");
    let fresh_out = dir.path().join("fresh-out");
    let fresh_paths = [data.split.as_path(), &data.images, &data.labels, &fresh_work, &fresh_out];
    let fresh = worker(&fresh_paths, &config).output().unwrap();
    assert!(fresh.status.success(), "{}", describe(&fresh));
    let last = format!("checkpoints/epoch-{EPOCHS:04}.safetensors");
    let resumed_bytes = std::fs::read(out.join(&last)).unwrap();
    let fresh_bytes = std::fs::read(fresh_out.join(&last)).unwrap();
    assert!(resumed_bytes == fresh_bytes, "the resumed run's last checkpoint differs from an uninterrupted run");
}

#[test]
fn worker_reports_a_missing_config_once_and_fails() {
    let dir = tempdir().unwrap();
    let missing = dir.path().join("missing.json");
    let p = dir.path();

    let output = worker(&[p, p, p, p, p], &missing).output().unwrap();

    assert!(!output.status.success(), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.matches("flawprobe-torch: error:").count(), 1, "{}", describe(&output));
    assert!(stderr.contains("missing.json"), "{}", describe(&output));
}

#[test]
fn worker_info_prints_json() {
    let output = Command::new(env!("CARGO_BIN_EXE_flawprobe-torch")).arg("info").output().unwrap();

    assert!(output.status.success(), "{}", describe(&output));
    let info: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(info["libtorch"].as_str().is_some_and(|v| v.starts_with("2.13.0")), "{info}");
    assert!(info["cuda_available"].is_boolean());
    assert!(info["cuda_device_count"].is_number());
}
