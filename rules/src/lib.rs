//! Falco rules engine: loader, condition grammar, field registry, evaluation, outputs.
