//! Cascading randomisation and activation dumps on a trained small-cnn.

mod train_support;

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use flawprobe_torch::models::ModelKind;
use flawprobe_torch::train::{dump_activations, randomise_cascade, train, ActivationConfig, LrSchedule, OptimizerKind, TrainConfig};
use tch::Tensor;
use tempfile::tempdir;
use train_support::{count_split, python, write_dataset, CLASSES};

fn trained_checkpoint(dir: &Path) -> (train_support::Synthetic, std::path::PathBuf) {
    let data = write_dataset(dir, 100, 32, 0.0);
    let cfg = TrainConfig {
        model: ModelKind::SmallCnn,
        image_size: 32,
        num_classes: CLASSES as i64,
        optimizer: OptimizerKind::Sgd,
        lr: 0.05,
        lr_schedule: LrSchedule::Cosine,
        momentum: 0.9,
        weight_decay: 1e-4,
        batch_size: 16,
        epochs: 1,
        checkpoint_epochs: vec![1],
        augment: false,
        seed: 1,
        device: "cpu".into(),
        threads: 1,
    };
    let out = dir.join("out");
    train(&cfg, &data.split, &data.images, &data.labels, &dir.join("work"), &out).unwrap();
    (data, out.join("checkpoints/epoch-0001.safetensors"))
}

fn read(path: &Path) -> HashMap<String, Tensor> {
    Tensor::read_safetensors(path).unwrap().into_iter().collect()
}

#[test]
fn randomisation_changes_only_layers_from_the_tap_up() {
    let dir = tempdir().unwrap();
    let (_, checkpoint) = trained_checkpoint(dir.path());
    let out = dir.path().join("randomised-block3.safetensors");

    let groups = randomise_cascade(ModelKind::SmallCnn, CLASSES as i64, &checkpoint, "block3", 9, &out).unwrap();

    assert_eq!(groups, ["head", "block4", "block3"]);
    let before = read(&checkpoint);
    let after = read(&out);
    assert_eq!(before.len(), after.len());
    for (name, old) in &before {
        let new = &after[name];
        let same = old.equal(new);
        let randomised = ["head.", "block4.", "block3."].iter().any(|p| name.starts_with(p));
        // β and the running statistics start at the same constants in every
        // fresh network, so only the conv, γ and head tensors must differ.
        let drawn_at_random = name.ends_with("conv.weight") || name == "head.weight";
        if !randomised {
            assert!(same, "{name} is below block3 and must keep its trained value");
        } else if drawn_at_random {
            assert!(!same, "{name} should have been re-initialised");
        }
    }
    assert!(after["block3.bn.running_var"].equal(&Tensor::ones([64], (tch::Kind::Float, tch::Device::Cpu))));
}

#[test]
fn randomisation_rejects_unknown_tap() {
    let dir = tempdir().unwrap();
    let (_, checkpoint) = trained_checkpoint(dir.path());

    let err = randomise_cascade(ModelKind::SmallCnn, CLASSES as i64, &checkpoint, "mixed4", 9, &dir.path().join("x"))
        .unwrap_err();

    assert!(err.to_string().contains("unknown tap \"mixed4\""), "{err}");
}

#[test]
fn activations_open_in_pyarrow_with_one_row_per_probe_image() {
    let dir = tempdir().unwrap();
    let (data, checkpoint) = trained_checkpoint(dir.path());
    let cfg = ActivationConfig {
        model: ModelKind::SmallCnn,
        image_size: 32,
        num_classes: CLASSES as i64,
        splits: vec!["val".into(), "test".into()],
        taps: vec!["block2".into(), "block4".into()],
        device: "cpu".into(),
        batch_size: 7,
        threads: 1,
    };
    let out = dir.path().join("acts");

    dump_activations(&cfg, &checkpoint, &data.images, &data.split, &out).unwrap();

    let probe_images = count_split(data.num_images, "val") + count_split(data.num_images, "test");
    for (tap, channels) in [("block2", 32), ("block4", 128)] {
        let path = out.join(format!("acts-{tap}.arrow"));
        let script = "import sys, pyarrow as pa\n\
            t = pa.ipc.open_file(sys.argv[1]).read_all()\n\
            a = t.column('activation').type\n\
            ids = t.column('image_id').to_pylist()\n\
            print(t.num_rows, a.list_size, ids == sorted(ids), t.schema.field('image_id').type)";
        if !python().exists() {
            eprintln!("skipping the pyarrow check: {} is missing", python().display());
            continue;
        }
        let output = Command::new(python()).arg("-c").arg(script).arg(&path).output().unwrap();
        assert!(output.status.success(), "python failed: {}", String::from_utf8_lossy(&output.stderr));
        let printed = String::from_utf8_lossy(&output.stdout);
        assert_eq!(printed.trim(), format!("{probe_images} {channels} True uint32"), "{tap}");
    }
}

#[test]
fn activations_match_a_single_image_forward_pass() {
    let dir = tempdir().unwrap();
    let (data, checkpoint) = trained_checkpoint(dir.path());
    let cfg = ActivationConfig {
        model: ModelKind::SmallCnn,
        image_size: 32,
        num_classes: CLASSES as i64,
        splits: vec!["val".into()],
        taps: vec!["block1".into()],
        device: "cpu".into(),
        batch_size: 16,
        threads: 1,
    };
    let batched = dir.path().join("batched");
    let single = dir.path().join("single");

    dump_activations(&cfg, &checkpoint, &data.images, &data.split, &batched).unwrap();
    dump_activations(&ActivationConfig { batch_size: 1, ..cfg }, &checkpoint, &data.images, &data.split, &single)
        .unwrap();

    let values = |dir: &Path| {
        let table = flawprobe::table::read(&dir.join("acts-block1.arrow")).unwrap();
        let list = table.column(1).as_any().downcast_ref::<arrow::array::FixedSizeListArray>().unwrap();
        let floats = list.values().as_any().downcast_ref::<arrow::array::Float32Array>().unwrap();
        floats.values().to_vec()
    };
    let (a, b) = (values(&batched), values(&single));
    assert_eq!(a.len(), b.len());
    let worst = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max);
    assert!(worst < 1e-4, "batched and single-image activations differ by {worst}");
}
