//! The DTD dataset layout.
