//! Cache keys: the one place that decides which inputs identify a stage
//! instance's output.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A blake3 digest that names a stage instance's cache entry, or a file's
/// content. Shown and stored as 64 lower-case hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct Key([u8; 32]);

impl Key {
    /// Hex form, as used in directory names and manifests.
    pub fn to_hex(&self) -> String {
        blake3::Hash::from_bytes(self.0).to_hex().to_string()
    }

    /// The first 12 hex digits, enough to tell keys apart in logs.
    pub fn short(&self) -> String {
        self.to_hex()[..12].to_string()
    }

    /// Parses 64 hex digits.
    pub fn from_hex(hex: &str) -> Option<Key> {
        blake3::Hash::from_hex(hex).ok().map(|h| Key(*h.as_bytes()))
    }

    /// Content hash of a byte string.
    pub fn of_bytes(bytes: &[u8]) -> Key {
        Key(*blake3::hash(bytes).as_bytes())
    }

    pub(crate) fn from_hash(hash: blake3::Hash) -> Key {
        Key(*hash.as_bytes())
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key({})", self.short())
    }
}

impl From<Key> for String {
    fn from(key: Key) -> String {
        key.to_hex()
    }
}

impl TryFrom<String> for Key {
    type Error = String;

    fn try_from(hex: String) -> Result<Key, String> {
        Key::from_hex(&hex).ok_or_else(|| format!("invalid key {hex:?}: expected 64 hex digits"))
    }
}

/// Builds a stage instance's key from everything that determines its output:
/// the stage name, the stage's semantic version, its parameters in canonical
/// form and the keys of its inputs (named by role).
///
/// Not part of the key, on purpose: the device, thread count, cache path,
/// dataset path or binary build. Each part is length-prefixed, so no two
/// different part lists hash alike.
pub struct KeyBuilder {
    hasher: blake3::Hasher,
}

impl KeyBuilder {
    /// Starts a key for `stage` at semantic `version`.
    pub fn new(stage: &str, version: u32) -> KeyBuilder {
        let mut builder = KeyBuilder {
            hasher: blake3::Hasher::new_derive_key("flawprobe stage key v1"),
        };
        builder.part(b"stage", stage.as_bytes());
        builder.part(b"version", &version.to_le_bytes());
        builder
    }

    /// Adds the parameters. `serde_json::Value` objects keep their keys
    /// sorted, so equal parameters serialise to equal bytes.
    pub fn params(mut self, params: &serde_json::Value) -> KeyBuilder {
        let canonical = params.to_string();
        self.part(b"params", canonical.as_bytes());
        self
    }

    /// Adds an input under its role name (for example `split` or `labels`).
    pub fn input(mut self, role: &str, key: &Key) -> KeyBuilder {
        self.part(b"input", role.as_bytes());
        self.part(b"key", &key.0);
        self
    }

    pub fn finish(self) -> Key {
        Key::from_hash(self.hasher.finalize())
    }

    fn part(&mut self, tag: &[u8], bytes: &[u8]) {
        self.hasher.update(&(tag.len() as u64).to_le_bytes());
        self.hasher.update(tag);
        self.hasher.update(&(bytes.len() as u64).to_le_bytes());
        self.hasher.update(bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key(stage: &str, version: u32, params: serde_json::Value, inputs: &[(&str, Key)]) -> Key {
        let mut builder = KeyBuilder::new(stage, version).params(&params);
        for (role, input) in inputs {
            builder = builder.input(role, input);
        }
        builder.finish()
    }

    #[test]
    fn equal_inputs_give_equal_keys() {
        let input = Key::of_bytes(b"split");
        let a = key("permute", 1, json!({"p": 0.5, "seed": 1}), &[("split", input)]);
        let b = key("permute", 1, json!({"seed": 1, "p": 0.5}), &[("split", input)]);
        assert_eq!(a, b);
    }

    #[test]
    fn each_part_changes_the_key() {
        let input = Key::of_bytes(b"split");
        let base = key("permute", 1, json!({"p": 0.5}), &[("split", input)]);
        assert_ne!(base, key("split", 1, json!({"p": 0.5}), &[("split", input)]));
        assert_ne!(base, key("permute", 2, json!({"p": 0.5}), &[("split", input)]));
        assert_ne!(base, key("permute", 1, json!({"p": 1.0}), &[("split", input)]));
        assert_ne!(base, key("permute", 1, json!({"p": 0.5}), &[("other", input)]));
        let other = Key::of_bytes(b"other split");
        assert_ne!(base, key("permute", 1, json!({"p": 0.5}), &[("split", other)]));
    }

    #[test]
    fn key_round_trips_through_hex() {
        let k = Key::of_bytes(b"abc");
        assert_eq!(Key::from_hex(&k.to_hex()), Some(k));
        assert_eq!(Key::from_hex("not hex"), None);
    }
}
