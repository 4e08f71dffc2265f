//! blackbox configuration.
//!
//! This crate holds configuration types and their loading, validated with
//! errors that name the file, the line and column, and the reason. It never
//! depends on containerd, tokio or the kernel, so everything here is tested
//! without root.

mod alerting;
mod classes;
mod error;
mod node;
mod runtime_options;

pub use alerting::{
    parse_http_url, AlertsConfig, HttpUrl, RulesConfig, DEFAULT_RULES_FILE, PRIORITY_NAMES,
};
pub use classes::SyscallClass;
pub use error::ConfigError;
pub use node::{
    AnnotationError, ArchiveCompressionName, ArchiveConfig, ContainerPolicy, NodeConfig,
    RecordingConfig, RetentionConfig, ANNOTATION_PREFIX, DEFAULT_NODE_CONFIG_PATH, MAX_SNAPLEN,
};
pub use runtime_options::{RuntimeOptions, DEFAULT_RUNTIME_OPTIONS_PATH};
