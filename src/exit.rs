//! Exit codes are part of the interface: they follow istioctl's `sysexits.go`, and every command
//! maps its outcome to one of them here, in one place.

use std::process::ExitCode;

/// The process outcomes ferryctl distinguishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Success,
    /// Any error not classified below (istioctl `ExitUnknownError`).
    Failure,
    /// Bad flags, unknown command, invalid values (istioctl `ExitIncorrectUsage`).
    Usage,
    /// Input that could not be parsed (istioctl `ExitDataError`).
    Data,
    /// `analyze` found issues at or above the failure threshold (istioctl `ExitAnalyzerFoundIssues`).
    IssuesFound,
    /// The exit code of the program a command ran in the foreground (`workload run`'s
    /// application), passed on as a shell passes on its last command's.
    Passthrough(u8),
}

impl Exit {
    pub fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Failure => 1,
            Exit::Usage => 64,
            Exit::Data => 65,
            Exit::IssuesFound => 79,
            Exit::Passthrough(code) => code,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> Self {
        ExitCode::from(e.code())
    }
}

/// An error that carries its exit class; anything else maps to [`Exit::Failure`].
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct CommandError {
    pub exit: Exit,
    pub message: String,
}

impl CommandError {
    /// An error istioctl returns from a command's body (exit 1), e.g. a missing argument.
    pub fn failure(message: impl Into<String>) -> Self {
        CommandError {
            exit: Exit::Failure,
            message: message.into(),
        }
    }

    pub fn usage(message: impl Into<String>) -> Self {
        CommandError {
            exit: Exit::Usage,
            message: message.into(),
        }
    }
}
