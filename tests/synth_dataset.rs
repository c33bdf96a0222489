//! The synthetic texture data set: layout, determinism, speed and errors.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use flawprobe::synth::{generate, SynthConfig, CLASSES, CONCEPTS_FILE, MARKER_FILE};
use image::ColorType;

fn small_config(seed: u64) -> SynthConfig {
    SynthConfig {
        per_class: 3,
        size: 32,
        seed,
    }
}

/// Reads every file under `root`, keyed by its path relative to `root`.
fn read_tree(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(folder) = pending.pop() {
        for entry in fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let relative = path.strip_prefix(root).unwrap().to_path_buf();
                files.insert(relative, fs::read(&path).unwrap());
            }
        }
    }
    files
}

fn sorted_names(folder: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(folder)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn same_seed_gives_identical_bytes() {
    let (first, second) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    generate(&small_config(7), first.path()).unwrap();
    generate(&small_config(7), second.path()).unwrap();

    let (first_files, second_files) = (read_tree(first.path()), read_tree(second.path()));
    assert_eq!(
        first_files.len(),
        CLASSES.len() * 3 + 2,
        "images plus concepts.csv and synth.json"
    );
    assert_eq!(
        first_files.keys().collect::<Vec<_>>(),
        second_files.keys().collect::<Vec<_>>()
    );
    for (path, bytes) in &first_files {
        assert!(
            bytes == &second_files[path],
            "{} differs between two runs",
            path.display()
        );
    }
}

#[test]
fn different_seed_changes_every_image() {
    let (first, second) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    generate(&small_config(1), first.path()).unwrap();
    generate(&small_config(2), second.path()).unwrap();

    let (first_files, second_files) = (read_tree(first.path()), read_tree(second.path()));
    for (path, bytes) in &first_files {
        if path.extension().is_some_and(|ext| ext == "png") || path.ends_with(CONCEPTS_FILE) {
            assert!(
                bytes != &second_files[path],
                "{} is the same for seeds 1 and 2",
                path.display()
            );
        }
    }
}

#[test]
fn image_bytes_do_not_depend_on_per_class() {
    let (few, many) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    generate(
        &SynthConfig {
            per_class: 2,
            size: 32,
            seed: 5,
        },
        few.path(),
    )
    .unwrap();
    generate(
        &SynthConfig {
            per_class: 4,
            size: 32,
            seed: 5,
        },
        many.path(),
    )
    .unwrap();

    for class in CLASSES {
        for index in 0..2 {
            let name = format!("images/{class}/{class}_{index:04}.png");
            let few_bytes = fs::read(few.path().join(&name)).unwrap();
            let many_bytes = fs::read(many.path().join(&name)).unwrap();
            assert!(few_bytes == many_bytes, "{name} changes with per_class");
        }
    }
}

#[test]
fn layout_has_one_folder_per_class() {
    let root = tempfile::tempdir().unwrap();
    let summary = generate(
        &SynthConfig {
            per_class: 4,
            size: 40,
            seed: 0,
        },
        root.path(),
    )
    .unwrap();

    assert_eq!(summary.images, CLASSES.len() * 4);
    assert_eq!(summary.classes, CLASSES.to_vec());
    assert_eq!(summary.images_dir, root.path().join("images"));
    assert_eq!(summary.concepts_csv, root.path().join(CONCEPTS_FILE));
    assert!(CLASSES.len() >= 10);
    assert_eq!(sorted_names(&summary.images_dir), CLASSES.to_vec());
    assert_eq!(
        sorted_names(root.path()),
        vec![
            CONCEPTS_FILE.to_string(),
            "images".to_string(),
            MARKER_FILE.to_string()
        ],
        "the temporary folder is gone and nothing else is left"
    );

    for class in CLASSES {
        let expected: Vec<String> = (0..4)
            .map(|index| format!("{class}_{index:04}.png"))
            .collect();
        assert_eq!(sorted_names(&summary.images_dir.join(class)), expected);
    }
}

#[test]
fn images_decode_as_rgb8_at_size() {
    let root = tempfile::tempdir().unwrap();
    let summary = generate(
        &SynthConfig {
            per_class: 2,
            size: 48,
            seed: 3,
        },
        root.path(),
    )
    .unwrap();

    for class in CLASSES {
        for index in 0..2 {
            let path = summary
                .images_dir
                .join(class)
                .join(format!("{class}_{index:04}.png"));
            let decoded = image::open(&path).unwrap();
            assert_eq!(decoded.color(), ColorType::Rgb8, "{}", path.display());
            assert_eq!(
                (decoded.width(), decoded.height()),
                (48, 48),
                "{}",
                path.display()
            );
        }
    }
}

#[test]
fn concept_rows_match_the_image_files() {
    let root = tempfile::tempdir().unwrap();
    generate(&small_config(0), root.path()).unwrap();

    let text = fs::read_to_string(root.path().join(CONCEPTS_FILE)).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    assert!(
        header.starts_with("path,class,index,fg_hue_deg,"),
        "header: {header}"
    );
    let columns = header.split(',').count();

    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), CLASSES.len() * 3);
    for row in rows {
        let fields: Vec<&str> = row.split(',').collect();
        assert_eq!(fields.len(), columns, "row: {row}");
        assert!(
            root.path().join(fields[0]).is_file(),
            "no file for row: {row}"
        );
        assert!(
            fields[0].starts_with(&format!("images/{}/", fields[1])),
            "row: {row}"
        );
    }
}

#[test]
fn rerun_replaces_earlier_output() {
    let root = tempfile::tempdir().unwrap();
    generate(
        &SynthConfig {
            per_class: 5,
            size: 32,
            seed: 0,
        },
        root.path(),
    )
    .unwrap();
    generate(
        &SynthConfig {
            per_class: 2,
            size: 32,
            seed: 0,
        },
        root.path(),
    )
    .unwrap();

    for class in CLASSES {
        assert_eq!(
            sorted_names(&root.path().join("images").join(class)).len(),
            2,
            "{class}"
        );
    }
    let rows = fs::read_to_string(root.path().join(CONCEPTS_FILE))
        .unwrap()
        .lines()
        .count()
        - 1;
    assert_eq!(rows, CLASSES.len() * 2);
}

#[test]
fn foreign_images_folder_is_rejected() {
    let root = tempfile::tempdir().unwrap();
    let foreign = root.path().join("images").join("mine");
    fs::create_dir_all(&foreign).unwrap();
    fs::write(foreign.join("photo.jpg"), b"not ours").unwrap();

    let message = format!("{:#}", generate(&small_config(0), root.path()).unwrap_err());
    assert!(
        message.contains("was not written by synth"),
        "message: {message}"
    );
    assert!(
        foreign.join("photo.jpg").is_file(),
        "the foreign file must survive"
    );
}

#[test]
fn zero_per_class_is_rejected() {
    let root = tempfile::tempdir().unwrap();
    let config = SynthConfig {
        per_class: 0,
        ..SynthConfig::default()
    };

    let message = format!("{:#}", generate(&config, root.path()).unwrap_err());
    assert!(
        message.contains("invalid images per class 0"),
        "message: {message}"
    );
    assert!(sorted_names(root.path()).is_empty(), "nothing is written");
}

#[test]
fn tiny_size_is_rejected() {
    let root = tempfile::tempdir().unwrap();
    let config = SynthConfig {
        size: 4,
        ..SynthConfig::default()
    };

    let message = format!("{:#}", generate(&config, root.path()).unwrap_err());
    assert!(
        message.contains("invalid image size 4 px"),
        "message: {message}"
    );
}

#[test]
fn unwritable_root_is_rejected() {
    // A path below a regular file cannot be created, even by root.
    let scratch = tempfile::tempdir().unwrap();
    let file = scratch.path().join("plain-file");
    fs::write(&file, b"").unwrap();
    let root = file.join("out");

    let message = format!("{:#}", generate(&small_config(0), &root).unwrap_err());
    assert!(
        message.contains("failed to create output folder"),
        "message: {message}"
    );
    assert!(message.contains("plain-file/out"), "message: {message}");
}

#[test]
fn default_config_generates_in_seconds() {
    let root = tempfile::tempdir().unwrap();
    let config = SynthConfig::default();
    assert_eq!((config.per_class, config.size), (60, 128));

    let start = Instant::now();
    let summary = generate(&config, root.path()).unwrap();
    let elapsed = start.elapsed();
    eprintln!(
        "generated {} images of {} px in {:.2} s on {} threads",
        summary.images,
        config.size,
        elapsed.as_secs_f64(),
        rayon::current_num_threads()
    );
    assert_eq!(summary.images, 600);
    assert!(elapsed.as_secs_f64() < 10.0, "took {elapsed:?}");
}
