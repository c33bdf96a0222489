//! The pipeline engine: cache keys ([`key`]), the store of entries
//! ([`store`]), the stat cache of input files ([`statcache`]), the DAG of
//! stage instances ([`dag`]), the local executor ([`scheduler`]) and the
//! record of earlier runs that explains why an instance reruns
//! ([`history`]). Stages plug in through the [`Stage`] trait and never hash
//! or store anything themselves.

pub mod dag;
pub mod history;
pub mod key;
pub mod scheduler;
pub mod stage;
pub mod statcache;
pub mod store;

pub use dag::{Dag, Input, Instance};
pub use key::{Key, KeyBuilder};
pub use scheduler::{execute, run_instance, Outcome, RunOptions};
pub use stage::{Resource, Stage, StageContext};
pub use store::{Lookup, Manifest, Store};
