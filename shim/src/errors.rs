//! Errors of the task service, and how they map to ttrpc codes.
//!
//! containerd reads NOT_FOUND as "the task is already gone", so it is used
//! only for that; a method we do not implement answers UNIMPLEMENTED.

use containerd_shim::{protos::ttrpc, Error};

pub type Result<T> = std::result::Result<T, Error>;

pub fn not_found(what: impl Into<String>) -> Error {
    Error::NotFoundError(what.into())
}

pub fn precondition(what: impl Into<String>) -> Error {
    Error::FailedPreconditionError(what.into())
}

pub fn invalid(what: impl Into<String>) -> Error {
    Error::InvalidArgument(what.into())
}

pub fn already_exists(what: impl Into<String>) -> Error {
    let what = what.into();
    Error::Ttrpc(ttrpc::Error::RpcStatus(ttrpc::get_status(
        ttrpc::Code::ALREADY_EXISTS,
        what.as_str(),
    )))
}

pub fn other(what: impl Into<String>) -> Error {
    Error::Other(what.into())
}

/// Converts to the ttrpc status containerd expects.
pub fn to_ttrpc(e: Error) -> ttrpc::Error {
    match e {
        Error::Unimplemented(ref what) => {
            ttrpc::Error::RpcStatus(ttrpc::get_status(ttrpc::Code::UNIMPLEMENTED, what.as_str()))
        }
        Error::DeadlineExceeded(ref what) => ttrpc::Error::RpcStatus(ttrpc::get_status(
            ttrpc::Code::DEADLINE_EXCEEDED,
            what.as_str(),
        )),
        Error::Other(ref what) => {
            ttrpc::Error::RpcStatus(ttrpc::get_status(ttrpc::Code::UNKNOWN, what.as_str()))
        }
        e => e.into(),
    }
}

/// runc's `kill` answers in words; containerd needs NOT_FOUND when the
/// process is already gone.
pub fn classify_kill_error(message: &str) -> Error {
    let lower = message.to_lowercase();
    if lower.contains("process already finished")
        || lower.contains("container not running")
        || lower.contains("no such process")
    {
        not_found("process already finished")
    } else if lower.contains("does not exist") {
        not_found("no such container")
    } else {
        other(format!("runc kill failed: {message}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kill_errors_map_to_not_found_only_when_gone() {
        assert!(matches!(
            classify_kill_error("container not running"),
            Error::NotFoundError(_)
        ));
        assert!(matches!(
            classify_kill_error("container \"x\" does not exist"),
            Error::NotFoundError(_)
        ));
        assert!(matches!(
            classify_kill_error("permission denied"),
            Error::Other(_)
        ));
    }

    #[test]
    fn unimplemented_is_not_not_found() {
        let status = to_ttrpc(Error::Unimplemented("checkpoint".into()));
        let ttrpc::Error::RpcStatus(status) = status else {
            panic!("expected a status");
        };
        assert_eq!(status.code(), ttrpc::Code::UNIMPLEMENTED);
    }
}
