//! Wire models (placeholder, being written).
