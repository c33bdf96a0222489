//! Training reproducibility, logs and memorisation on synthetic data.

mod train_support;

use std::path::Path;

use arrow::array::{Float64Array, UInt32Array};
use flawprobe_torch::models::ModelKind;
use flawprobe_torch::train::{train, LrSchedule, OptimizerKind, TrainConfig};
use tempfile::tempdir;
use train_support::{write_dataset, CLASSES};

fn config(epochs: u32, seed: u64) -> TrainConfig {
    TrainConfig {
        model: ModelKind::SmallCnn,
        image_size: 32,
        num_classes: CLASSES as i64,
        optimizer: OptimizerKind::Adam,
        lr: 3e-3,
        lr_schedule: LrSchedule::Constant,
        momentum: 0.9,
        weight_decay: 0.0,
        batch_size: 16,
        epochs,
        checkpoint_epochs: vec![0, epochs],
        augment: true,
        seed,
        device: "cpu".into(),
        threads: 2,
    }
}

fn read_bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

#[test]
fn same_seed_gives_identical_checkpoints() {
    let dir = tempdir().unwrap();
    let data = write_dataset(dir.path(), 200, 32, 0.0);
    let cfg = config(2, 11);
    let run = |name: &str| {
        let work = dir.path().join(format!("{name}-work"));
        let out = dir.path().join(format!("{name}-out"));
        train(&cfg, &data.split, &data.images, &data.labels, &work, &out).unwrap();
        out
    };

    let first = run("a");
    let second = run("b");

    for name in ["epoch-0000.safetensors", "epoch-0002.safetensors"] {
        let a = read_bytes(&first.join("checkpoints").join(name));
        let b = read_bytes(&second.join("checkpoints").join(name));
        assert!(a == b, "{name} differs between two runs with seed 11");
    }
    let other = dir.path().join("c-out");
    train(&config(2, 12), &data.split, &data.images, &data.labels, &dir.path().join("c-work"), &other).unwrap();
    assert!(
        read_bytes(&first.join("checkpoints/epoch-0000.safetensors"))
            != read_bytes(&other.join("checkpoints/epoch-0000.safetensors")),
        "seeds 11 and 12 gave the same untrained network"
    );
}

#[test]
fn log_has_one_row_per_epoch_from_zero() {
    let dir = tempdir().unwrap();
    let data = write_dataset(dir.path(), 200, 32, 0.25);
    let out = dir.path().join("out");

    train(&config(2, 3), &data.split, &data.images, &data.labels, &dir.path().join("work"), &out).unwrap();

    let log = flawprobe::table::read(&out.join("log.arrow")).unwrap();
    let epochs = log.column_by_name("epoch").unwrap().as_any().downcast_ref::<UInt32Array>().unwrap();
    assert_eq!(epochs.values().to_vec(), vec![0, 1, 2]);
    let float = |name: &str| {
        log.column_by_name(name).unwrap().as_any().downcast_ref::<Float64Array>().unwrap().values().to_vec()
    };
    assert!(float("loss")[0].is_nan(), "the untrained row has no training loss");
    assert!(float("loss")[1..].iter().all(|l| l.is_finite() && *l > 0.0));
    for name in ["train_acc", "val_acc", "changed_acc_true", "changed_acc_train", "unchanged_acc_true"] {
        assert!(float(name).iter().all(|a| (0.0..=1.0).contains(a)), "{name}: {:?}", float(name));
    }
    assert!(float("seconds").iter().all(|s| *s >= 0.0));
}

#[test]
fn clean_labels_without_corruption_give_nan_changed_accuracy() {
    let dir = tempdir().unwrap();
    let data = write_dataset(dir.path(), 100, 32, 0.0);
    let out = dir.path().join("out");

    train(&config(1, 3), &data.split, &data.images, &data.labels, &dir.path().join("work"), &out).unwrap();

    let log = flawprobe::table::read(&out.join("log.arrow")).unwrap();
    let changed = log.column_by_name("changed_acc_true").unwrap().as_any().downcast_ref::<Float64Array>().unwrap();
    assert!(changed.values().iter().all(|v| v.is_nan()));
}

#[test]
fn fully_permuted_labels_are_memorised() {
    let dir = tempdir().unwrap();
    let data = write_dataset(dir.path(), 200, 32, 1.0);
    let mut cfg = config(25, 5);
    cfg.augment = false;
    cfg.checkpoint_epochs = vec![];
    let out = dir.path().join("out");

    train(&cfg, &data.split, &data.images, &data.labels, &dir.path().join("work"), &out).unwrap();

    let log = flawprobe::table::read(&out.join("log.arrow")).unwrap();
    let column = |name: &str| {
        *log.column_by_name(name).unwrap().as_any().downcast_ref::<Float64Array>().unwrap().values().last().unwrap()
    };
    assert!(column("train_acc") > 0.9, "train acc {}", column("train_acc"));
    assert!(column("changed_acc_train") > 0.9);
    assert!(column("changed_acc_true") < 0.2, "every training label was moved off its class");
}

#[test]
fn mismatched_image_size_is_rejected() {
    let dir = tempdir().unwrap();
    let data = write_dataset(dir.path(), 20, 32, 0.0);
    let mut cfg = config(1, 1);
    cfg.image_size = 64;

    let err = train(&cfg, &data.split, &data.images, &data.labels, &dir.path().join("w"), &dir.path().join("o"))
        .unwrap_err();

    assert!(err.to_string().contains("image_size is 64"), "{err}");
}
