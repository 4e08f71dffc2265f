//! The event model: SCAP events with process, fd and container state, as Falco fields.
