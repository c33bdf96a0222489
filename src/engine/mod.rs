//! The pipeline engine: keys, store, pipeline files and scheduler.
