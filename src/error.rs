//! The failures a command can end in, each with its documented exit code
//! (spec/outputs.md; README "Exit codes").

use crate::config::ConfigError;

#[derive(Debug, thiserror::Error)]
pub enum HeduiError {
    /// Bad config: unknown key, bad value, unreadable file.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// An input that cannot be used: a missing extract type, an unreadable
    /// file, a missing or doubled required column. One line per fault.
    #[error("输入错误 / input error:\n{}", .0.join("\n"))]
    Input(Vec<String>),
    /// A gate stopped the run: a reject rate over the limit, a shrunken extract.
    #[error("运行被闸门停止 / stopped by a gate:\n{}", .0.join("\n"))]
    Gate(Vec<String>),
    /// Another run holds the lock.
    #[error("另一个运行正在进行（锁 {0}） / another run holds the lock {0}")]
    Locked(String),
    /// Command-line arguments that cannot be carried out as given.
    #[error("用法错误 / usage error: {0}")]
    Usage(String),
    /// A bug.
    #[error("内部错误 / internal error: {0}")]
    Internal(String),
}

impl HeduiError {
    pub fn exit_code(&self) -> i32 {
        match self {
            HeduiError::Internal(_) => 1,
            HeduiError::Usage(_) => 2,
            HeduiError::Config(_) => 3,
            HeduiError::Input(_) => 4,
            HeduiError::Gate(_) => 5,
            HeduiError::Locked(_) => 6,
        }
    }
}

/// What an I/O error means, in Chinese, for the Chinese half of a message
/// (the system's own English wording follows in the English half).
pub fn io_zh(e: &std::io::Error) -> &'static str {
    use std::io::ErrorKind;
    match e.kind() {
        ErrorKind::NotFound => "文件或目录不存在",
        ErrorKind::PermissionDenied => "没有访问权限",
        ErrorKind::IsADirectory => "这是目录，不是文件",
        ErrorKind::NotADirectory => "路径中有一段是文件而不是目录",
        ErrorKind::InvalidData | ErrorKind::UnexpectedEof => "内容无法识别或不完整",
        ErrorKind::StorageFull => "磁盘已满",
        ErrorKind::ReadOnlyFilesystem => "文件系统只读",
        _ => "读写出错",
    }
}

impl From<std::io::Error> for HeduiError {
    fn from(e: std::io::Error) -> Self {
        HeduiError::Internal(format!("输出写入失败 / writing output failed: {e}"))
    }
}
