//! Sealed, signed per-container forensic archives: working directory, sealing, verification, reading.
