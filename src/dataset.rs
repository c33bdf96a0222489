//! The DTD dataset layout: `ROOT/images/<class>/<name>.jpg`, with optional
//! official splits in `ROOT/labels/{train,val,test}N.txt`. Any image folder
//! of that shape works.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use rayon::prelude::*;

use crate::engine::statcache::StatCache;
use crate::engine::Key;
use crate::imageio::{has_image_signature, IMAGE_EXTENSIONS};


/// One image of a dataset.
#[derive(Debug, Clone)]
pub struct DatasetImage {
    /// Path relative to `ROOT/images`, with `/` separators
    /// (`banded/banded_0002.jpg`), as DTD's label files write it.
    pub path: String,
    pub class: String,
    /// The class's index in the sorted class list.
    pub label: i32,
    pub hash: Key,
}

/// A scanned dataset: its classes (sorted by name), images (sorted by path)
/// and one digest over every image's path and content and the label files.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub root: PathBuf,
    pub classes: Vec<String>,
    pub images: Vec<DatasetImage>,
    /// Official split files under `ROOT/labels`, by file name.
    pub label_files: Vec<(String, Key)>,
    pub digest: Key,
}

impl Dataset {
    /// Lists and hashes a dataset. File content is read only for files the
    /// stat cache has not seen with their current size, mtime and inode.
    ///
    /// Fails, naming the path, on a missing root or `images` folder, a class
    /// folder with no images, and a file that is empty or is not a JPEG or
    /// PNG image (by extension and signature).
    pub fn scan(root: &Path, stat_cache: &StatCache) -> Result<Dataset> {
        let images_dir = root.join("images");
        if !root.is_dir() {
            bail!(
                "dataset folder {} not found (set DTD_DIR or the pipeline's dataset.root; `make data` downloads the full DTD)",
                root.display()
            );
        }
        if !images_dir.is_dir() {
            bail!(
                "dataset folder {} has no images/ folder (expected the DTD layout images/<class>/<file>.jpg)",
                root.display()
            );
        }

        let classes = list_classes(&images_dir)?;
        let mut files = Vec::new();
        for (label, class) in classes.iter().enumerate() {
            let class_files = list_class_files(&images_dir.join(class))?;
            files.extend(class_files.into_iter().map(|name| (label, name)));
        }

        let images = files
            .par_iter()
            .map(|(label, name)| {
                let class = &classes[*label];
                let file = images_dir.join(class).join(name);
                let digest = stat_cache.digest(&file)?;
                check_image_file(&file, digest.size, &digest.magic)?;
                Ok(DatasetImage {
                    path: format!("{class}/{name}"),
                    class: class.clone(),
                    label: *label as i32,
                    hash: digest.hash,
                })
            })
            .collect::<Result<Vec<_>>>()?;

        let label_files = list_label_files(root, stat_cache)?;
        let digest = dataset_digest(&images, &label_files);
        Ok(Dataset {
            root: root.to_path_buf(),
            classes,
            images,
            label_files,
            digest,
        })
    }

    /// The full path of an image.
    pub fn image_path(&self, image: &DatasetImage) -> PathBuf {
        self.root.join("images").join(&image.path)
    }
}

fn list_classes(images_dir: &Path) -> Result<Vec<String>> {
    let mut classes = Vec::new();
    let entries = fs::read_dir(images_dir).with_context(|| format!("cannot list {}", images_dir.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot list {}", images_dir.display()))?;
        let name = entry.file_name().to_string_lossy().to_string();
        if name.starts_with('.') {
            continue;
        }
        if entry.path().is_dir() {
            classes.push(name);
        } else {
            bail!(
                "{}: a file directly under images/ (expected one folder per class)",
                entry.path().display()
            );
        }
    }
    if classes.is_empty() {
        bail!("{} contains no class folders", images_dir.display());
    }
    classes.sort();
    Ok(classes)
}

fn list_class_files(class_dir: &Path) -> Result<Vec<String>> {
    let mut names = Vec::new();
    let entries = fs::read_dir(class_dir).with_context(|| format!("cannot list {}", class_dir.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot list {}", class_dir.display()))?;
        let name = entry.file_name().to_string_lossy().to_string();
        // Hidden files (.DS_Store, ._name) are not images of the dataset.
        if name.starts_with('.') {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            bail!("{}: unexpected folder inside a class folder", path.display());
        }
        let extension = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        if !IMAGE_EXTENSIONS.contains(&extension.as_str()) {
            bail!("{}: not an image file (expected .jpg, .jpeg or .png)", path.display());
        }
        names.push(name);
    }
    if names.is_empty() {
        bail!("class folder {} contains no images", class_dir.display());
    }
    names.sort();
    Ok(names)
}

fn check_image_file(file: &Path, size: u64, magic: &[u8; 8]) -> Result<()> {
    if size == 0 {
        bail!("{}: empty file (0 bytes), not an image", file.display());
    }
    if !has_image_signature(magic) {
        bail!("{}: not a JPEG or PNG image (its first bytes are neither signature)", file.display());
    }
    Ok(())
}

fn list_label_files(root: &Path, stat_cache: &StatCache) -> Result<Vec<(String, Key)>> {
    let labels_dir = root.join("labels");
    let Ok(entries) = fs::read_dir(&labels_dir) else { return Ok(Vec::new()) };
    let mut files = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if name.ends_with(".txt") && !name.starts_with('.') {
            files.push((name, stat_cache.digest(&entry.path())?.hash));
        }
    }
    files.sort();
    Ok(files)
}

fn dataset_digest(images: &[DatasetImage], label_files: &[(String, Key)]) -> Key {
    let mut hasher = blake3::Hasher::new();
    for image in images {
        hasher.update(image.path.as_bytes());
        hasher.update(b"\0");
        hasher.update(image.hash.to_hex().as_bytes());
        hasher.update(b"\n");
    }
    hasher.update(b"labels\n");
    for (name, hash) in label_files {
        hasher.update(name.as_bytes());
        hasher.update(b"\0");
        hasher.update(hash.to_hex().as_bytes());
        hasher.update(b"\n");
    }
    Key::of_bytes(hasher.finalize().as_bytes())
}
