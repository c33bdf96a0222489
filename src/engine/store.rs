//! The stage store: `cache/<stage>/<key>/` entries, each with the files a
//! stage instance wrote and a `manifest.json` that lists them with their
//! hashes.
//!
//! Entries are built in a temporary directory under `cache/.tmp/` and
//! renamed into place only when complete, so a crash leaves at most a
//! temporary directory, never a half entry. A per-key lock file under
//! `cache/.locks/` makes sure two processes never compute the same key at
//! once. Reading an entry checks every file against the manifest; an entry
//! that fails is moved to `cache/.damaged/` and recomputed.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use super::key::Key;
use super::statcache::StatCache;

const MANIFEST: &str = "manifest.json";
const TMP_DIR: &str = ".tmp";
const LOCK_DIR: &str = ".locks";
const DAMAGED_DIR: &str = ".damaged";
const SCRATCH_DIR: &str = ".scratch";
const OWNER_LOCK: &str = ".owner.lock";

/// The record a committed entry keeps about itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub stage: String,
    pub key: Key,
    pub version: u32,
    /// The instance name in the pipeline that first computed the entry.
    pub instance: String,
    pub params: serde_json::Value,
    /// Input keys by role.
    pub inputs: BTreeMap<String, Key>,
    /// Files written, relative to the entry directory.
    pub files: BTreeMap<String, FileRecord>,
    pub device: String,
    pub seconds: f64,
    pub created_unix: u64,
    pub flawprobe_version: String,
}

/// One output file of an entry.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FileRecord {
    pub size: u64,
    pub blake3: Key,
}

/// The outcome of looking an entry up.
#[derive(Debug)]
pub enum Lookup {
    /// A complete entry whose files all match its manifest.
    Valid(Box<Manifest>),
    Missing,
    /// An entry that exists but cannot be trusted, with the reason.
    Damaged(String),
}

/// A cache directory.
pub struct Store {
    root: PathBuf,
    stat_cache: StatCache,
}

impl Store {
    /// Opens (creating if needed) the store at `root`.
    pub fn open(root: &Path) -> Result<Store> {
        for dir in [TMP_DIR, LOCK_DIR] {
            fs::create_dir_all(root.join(dir))
                .with_context(|| format!("cannot create the cache directory {}", root.display()))?;
        }
        Ok(Store {
            root: root.to_path_buf(),
            stat_cache: StatCache::load(&root.join(".statcache.tsv")),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn stat_cache(&self) -> &StatCache {
        &self.stat_cache
    }

    /// The directory an entry lives in once committed.
    pub fn entry_dir(&self, stage: &str, key: &Key) -> PathBuf {
        self.root.join(stage).join(key.to_hex())
    }

    /// A directory that survives failed and killed runs of one key, for
    /// stages that resume (training keeps its checkpoints there). It is
    /// removed when the entry commits.
    pub fn scratch_dir(&self, stage: &str, key: &Key) -> PathBuf {
        self.root.join(SCRATCH_DIR).join(stage).join(key.to_hex())
    }

    /// Looks an entry up and verifies its files against the manifest. File
    /// hashes go through the stat cache, so verifying an unchanged entry
    /// reads no file content.
    pub fn lookup(&self, stage: &str, key: &Key) -> Lookup {
        let dir = self.entry_dir(stage, key);
        if !dir.exists() {
            return Lookup::Missing;
        }
        match self.verify(&dir, stage, key) {
            Ok(manifest) => Lookup::Valid(Box::new(manifest)),
            Err(reason) => Lookup::Damaged(format!("{reason:#}")),
        }
    }

    fn verify(&self, dir: &Path, stage: &str, key: &Key) -> Result<Manifest> {
        let path = dir.join(MANIFEST);
        let text = fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let manifest: Manifest =
            serde_json::from_str(&text).with_context(|| format!("{} is not a valid manifest", path.display()))?;
        if manifest.key != *key || manifest.stage != stage {
            bail!("{} belongs to {} {}", path.display(), manifest.stage, manifest.key.short());
        }
        for (name, record) in &manifest.files {
            let file = dir.join(name);
            let digest = self.stat_cache.digest(&file)?;
            if digest.size != record.size {
                bail!("{} has {} bytes, but its manifest lists {}", file.display(), digest.size, record.size);
            }
            if digest.hash != record.blake3 {
                bail!("{} does not match the hash in its manifest", file.display());
            }
        }
        Ok(manifest)
    }

    /// Moves a damaged entry out of the way (into `.damaged/`), so it is
    /// recomputed and can still be inspected. `gc` deletes it later.
    pub fn set_aside(&self, stage: &str, key: &Key) -> Result<PathBuf> {
        let damaged = self.root.join(DAMAGED_DIR);
        fs::create_dir_all(&damaged)?;
        let target = damaged.join(format!("{stage}-{}-{}", key.to_hex(), unix_now()));
        fs::rename(self.entry_dir(stage, key), &target)
            .with_context(|| format!("cannot move the damaged entry {stage}/{} aside", key.short()))?;
        Ok(target)
    }

    /// Takes the lock of one key, waiting while another process holds it.
    pub fn lock_key(&self, stage: &str, key: &Key) -> Result<KeyLock> {
        self.lock_named(&format!("{stage}-{}", key.to_hex()))
    }

    /// Takes a named lock (for work outside entries, such as rebuilding
    /// `results/`), waiting while another process holds it.
    pub fn lock_named(&self, name: &str) -> Result<KeyLock> {
        let path = self.root.join(LOCK_DIR).join(format!("{name}.lock"));
        let file = fs::File::create(&path).with_context(|| format!("cannot create the lock {}", path.display()))?;
        file.lock().with_context(|| format!("cannot lock {}", path.display()))?;
        Ok(KeyLock { _file: file })
    }

    /// Starts a new entry in a fresh temporary directory. The directory
    /// holds a locked owner file, so `clean_stale` can tell a live build
    /// from one whose process died.
    pub fn begin(&self, stage: &str, key: &Key) -> Result<Pending> {
        let name = format!("{stage}-{}-{}-{}", key.short(), std::process::id(), unix_now_nanos());
        let dir = self.root.join(TMP_DIR).join(name);
        fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let owner_path = dir.join(OWNER_LOCK);
        let owner = fs::File::create(&owner_path)?;
        owner.lock()?;
        Ok(Pending {
            dir,
            _owner: owner,
        })
    }

    /// Deletes an unfinished build (its stage failed).
    pub fn discard(&self, pending: Pending) {
        if let Err(err) = fs::remove_dir_all(&pending.dir) {
            tracing::warn!("cannot remove {}: {err}", pending.dir.display());
        }
    }

    /// Hashes the files of a finished build, writes its manifest and renames
    /// it into place.
    pub fn commit(&self, pending: Pending, mut manifest: Manifest) -> Result<Manifest> {
        manifest.files = record_and_sync(&pending.dir)?;
        let text = serde_json::to_string_pretty(&manifest)?;
        let manifest_path = pending.dir.join(MANIFEST);
        fs::write(&manifest_path, text)?;
        for synced in [&manifest_path, &pending.dir] {
            if let Ok(handle) = fs::File::open(synced) {
                handle.sync_all().ok();
            }
        }

        let target = self.entry_dir(&manifest.stage, &manifest.key);
        fs::create_dir_all(target.parent().unwrap_or(&self.root))?;
        fs::rename(&pending.dir, &target).with_context(|| {
            format!("cannot move the finished entry into place at {}", target.display())
        })?;
        fs::remove_file(target.join(OWNER_LOCK)).ok();
        fs::remove_dir_all(self.scratch_dir(&manifest.stage, &manifest.key)).ok();
        Ok(manifest)
    }

    /// Removes temporary directories whose builder is gone (its owner lock
    /// can be taken). Returns how many were removed.
    pub fn clean_stale(&self) -> Result<usize> {
        let mut removed = 0;
        let tmp = self.root.join(TMP_DIR);
        let Ok(entries) = fs::read_dir(&tmp) else { return Ok(0) };
        for entry in entries.flatten() {
            let dir = entry.path();
            let owner = dir.join(OWNER_LOCK);
            let stale = match fs::File::open(&owner) {
                Ok(file) => file.try_lock().is_ok(),
                // No owner file: a build that died between creating its
                // directory and its lock file, or one starting right now.
                Err(_) => older_than(&dir, 60),
            };
            if stale && fs::remove_dir_all(&dir).is_ok() {
                tracing::debug!(dir = %dir.display(), "removed a stale temporary directory");
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// All committed entries as (stage, key) pairs.
    pub fn entries(&self) -> Result<Vec<(String, Key)>> {
        let mut found = Vec::new();
        for stage_dir in fs::read_dir(&self.root)?.flatten() {
            let stage = stage_dir.file_name().to_string_lossy().to_string();
            if stage.starts_with('.') || !stage_dir.path().is_dir() {
                continue;
            }
            for entry in fs::read_dir(stage_dir.path())?.flatten() {
                if let Some(key) = Key::from_hex(&entry.file_name().to_string_lossy()) {
                    found.push((stage.clone(), key));
                }
            }
        }
        found.sort();
        Ok(found)
    }

    /// Deletes an entry (used by `gc`).
    pub fn remove(&self, stage: &str, key: &Key) -> Result<()> {
        let dir = self.entry_dir(stage, key);
        fs::remove_dir_all(&dir).with_context(|| format!("cannot remove {}", dir.display()))
    }

    /// Deletes the scratch folders of keys not in `keep` (used by `gc`).
    /// Returns how many were removed.
    pub fn remove_scratch_except(&self, keep: &std::collections::HashSet<(String, Key)>) -> usize {
        let mut removed = 0;
        let Ok(stages) = fs::read_dir(self.root.join(SCRATCH_DIR)) else { return 0 };
        for stage_dir in stages.flatten() {
            let stage = stage_dir.file_name().to_string_lossy().to_string();
            for entry in fs::read_dir(stage_dir.path()).into_iter().flatten().flatten() {
                let Some(key) = Key::from_hex(&entry.file_name().to_string_lossy()) else { continue };
                if !keep.contains(&(stage.clone(), key)) && fs::remove_dir_all(entry.path()).is_ok() {
                    removed += 1;
                }
            }
        }
        removed
    }

    /// Deletes set-aside damaged entries (used by `gc`).
    pub fn remove_damaged(&self) -> Result<usize> {
        let dir = self.root.join(DAMAGED_DIR);
        let Ok(entries) = fs::read_dir(&dir) else { return Ok(0) };
        let mut removed = 0;
        for entry in entries.flatten() {
            if fs::remove_dir_all(entry.path()).is_ok() {
                removed += 1;
            }
        }
        Ok(removed)
    }
}

/// A held per-key lock, released on drop.
pub struct KeyLock {
    _file: fs::File,
}

/// An entry being built.
pub struct Pending {
    dir: PathBuf,
    _owner: fs::File,
}

impl Pending {
    /// Where the stage writes its files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// Hashes every file of a finished build and syncs it and its folders to
/// disk, in one walk, so the rename that commits it publishes only durable
/// data.
fn record_and_sync(dir: &Path) -> Result<BTreeMap<String, FileRecord>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        for entry in fs::read_dir(&current)?.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let relative = path.strip_prefix(dir)?.to_string_lossy().to_string();
            if relative == OWNER_LOCK || relative == MANIFEST {
                continue;
            }
            if let Ok(file) = fs::File::open(&path) {
                file.sync_all().ok();
            }
            let digest = super::statcache::hash_file(&path)?;
            files.insert(relative, FileRecord { size: digest.size, blake3: digest.hash });
        }
        if let Ok(handle) = fs::File::open(&current) {
            handle.sync_all().ok();
        }
    }
    Ok(files)
}

fn older_than(path: &Path, seconds: u64) -> bool {
    let modified = fs::metadata(path).and_then(|m| m.modified());
    match modified.map(|time| time.elapsed()) {
        Ok(Ok(age)) => age.as_secs() > seconds,
        _ => false,
    }
}

pub(crate) fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

fn unix_now_nanos() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0)
}
