//! placeholder: see docs/capture.md
