//! One module per stage.
