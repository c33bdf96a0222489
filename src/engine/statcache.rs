//! A stat cache: remembers each file's content hash under its
//! (path, size, mtime, inode), so unchanged files are not read again.
//!
//! The cache is a tab-separated text file inside the store. A line is only
//! trusted while all four stat fields still match, so touching a file makes
//! it be rehashed (and, when the bytes are the same, gives the same hash).
//! Several processes may share one file: each loads it, and the last to save
//! wins, which loses at most some hashes that are recomputed later.

use std::collections::HashMap;
use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{Context, Result};

use super::key::Key;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stat {
    size: u64,
    mtime_ns: i128,
    inode: u64,
}

impl Stat {
    fn of(meta: &fs::Metadata) -> Stat {
        Stat {
            size: meta.len(),
            mtime_ns: meta.mtime() as i128 * 1_000_000_000 + meta.mtime_nsec() as i128,
            inode: meta.ino(),
        }
    }
}

/// A file's content hash and the first bytes it starts with (used to check
/// image signatures without reading the file again).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileDigest {
    pub hash: Key,
    pub size: u64,
    pub magic: [u8; 8],
}

/// The stat cache of one store.
pub struct StatCache {
    path: PathBuf,
    entries: Mutex<HashMap<PathBuf, (Stat, FileDigest)>>,
    dirty: Mutex<bool>,
}

impl StatCache {
    /// Loads the cache file at `path`; a missing or unreadable file gives an
    /// empty cache (it is only an accelerator).
    pub fn load(path: &Path) -> StatCache {
        let mut entries = HashMap::new();
        if let Ok(text) = fs::read_to_string(path) {
            for line in text.lines() {
                if let Some((file, entry)) = parse_line(line) {
                    entries.insert(file, entry);
                }
            }
        }
        StatCache {
            path: path.to_path_buf(),
            entries: Mutex::new(entries),
            dirty: Mutex::new(false),
        }
    }

    /// Returns the digest of `file`, reading it only when its stat changed.
    pub fn digest(&self, file: &Path) -> Result<FileDigest> {
        let meta = fs::metadata(file).with_context(|| format!("cannot read {}", file.display()))?;
        let stat = Stat::of(&meta);
        if let Some((cached, digest)) = self.lock_entries().get(file) {
            if *cached == stat {
                return Ok(*digest);
            }
        }
        let digest = hash_file(file)?;
        // The file may have changed while it was read; store the stat seen
        // after reading, so a concurrent write is caught next time.
        let after = fs::metadata(file).with_context(|| format!("cannot read {}", file.display()))?;
        if Stat::of(&after) == stat {
            self.lock_entries().insert(file.to_path_buf(), (stat, digest));
            *self.dirty.lock().unwrap_or_else(|e| e.into_inner()) = true;
        }
        Ok(digest)
    }

    /// Writes the cache back when it changed (atomically, by rename).
    pub fn save(&self) -> Result<()> {
        let mut dirty = self.dirty.lock().unwrap_or_else(|e| e.into_inner());
        if !*dirty {
            return Ok(());
        }
        let mut text = String::new();
        for (file, (stat, digest)) in self.lock_entries().iter() {
            let Some(name) = file.to_str() else { continue };
            if name.contains(['\t', '\n']) {
                continue;
            }
            text.push_str(&format!(
                "{}\t{}\t{}\t{}\t{}\t{}\n",
                digest.hash,
                stat.size,
                stat.mtime_ns,
                stat.inode,
                hex(&digest.magic),
                name
            ));
        }
        let tmp = self.path.with_extension(format!("tmp{}", std::process::id()));
        let mut file = fs::File::create(&tmp)
            .with_context(|| format!("cannot write the stat cache {}", tmp.display()))?;
        file.write_all(text.as_bytes())?;
        drop(file);
        fs::rename(&tmp, &self.path)
            .with_context(|| format!("cannot replace the stat cache {}", self.path.display()))?;
        *dirty = false;
        Ok(())
    }

    fn lock_entries(&self) -> std::sync::MutexGuard<'_, HashMap<PathBuf, (Stat, FileDigest)>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Hashes a file's whole content with blake3.
pub fn hash_file(file: &Path) -> Result<FileDigest> {
    let mut reader = fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
    let mut hasher = blake3::Hasher::new();
    let mut buffer = vec![0u8; 1 << 16];
    let mut magic = [0u8; 8];
    let mut size = 0u64;
    loop {
        let n = reader
            .read(&mut buffer)
            .with_context(|| format!("cannot read {}", file.display()))?;
        if n == 0 {
            break;
        }
        if size < 8 {
            let start = size as usize;
            let take = (8 - start).min(n);
            magic[start..start + take].copy_from_slice(&buffer[..take]);
        }
        hasher.update(&buffer[..n]);
        size += n as u64;
    }
    Ok(FileDigest {
        hash: Key::from_hash(hasher.finalize()),
        size,
        magic,
    })
}

fn parse_line(line: &str) -> Option<(PathBuf, (Stat, FileDigest))> {
    let mut fields = line.splitn(6, '\t');
    let hash = Key::from_hex(fields.next()?)?;
    let size = fields.next()?.parse().ok()?;
    let mtime_ns = fields.next()?.parse().ok()?;
    let inode = fields.next()?.parse().ok()?;
    let magic_hex = fields.next()?;
    let path = PathBuf::from(fields.next()?);
    let mut magic = [0u8; 8];
    if magic_hex.len() != 16 {
        return None;
    }
    for (i, byte) in magic.iter_mut().enumerate() {
        *byte = u8::from_str_radix(magic_hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    let stat = Stat { size, mtime_ns, inode };
    Some((path, (stat, FileDigest { hash, size, magic })))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_survives_a_save_and_load() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.bin");
        fs::write(&file, b"\x89PNG\r\n\x1a\nrest").unwrap();
        let cache_path = dir.path().join("stat.tsv");

        let cache = StatCache::load(&cache_path);
        let first = cache.digest(&file).unwrap();
        cache.save().unwrap();
        let reloaded = StatCache::load(&cache_path);

        assert_eq!(reloaded.digest(&file).unwrap(), first);
        assert_eq!(&first.magic, b"\x89PNG\r\n\x1a\n");
        assert_eq!(first.size, 12);
    }

    #[test]
    fn changed_bytes_give_a_new_hash() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.bin");
        fs::write(&file, b"one").unwrap();
        let cache = StatCache::load(&dir.path().join("stat.tsv"));
        let first = cache.digest(&file).unwrap();

        fs::write(&file, b"two!").unwrap();

        assert_ne!(cache.digest(&file).unwrap().hash, first.hash);
    }
}
