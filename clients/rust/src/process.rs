//! Starting the proxy with one end of a socketpair as its fd 3, and watching how it ends.

use std::ffi::OsString;
use std::future::Future;
use std::io;
use std::os::unix::io::AsRawFd;
use std::path::PathBuf;
use std::pin::Pin;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio::process::{ChildStderr, Command};
use tokio::sync::{oneshot, watch};

use crate::error::{Error, ProxyExit};

/// The fd the proxy finds its end of the socketpair on (`--sockfd 3`), as ostree and bootc do.
const CHILD_FD: i32 = 3;
/// After the proxy ended, how long its stderr may stay open (a helper it started may hold it).
const STDERR_DRAIN: Duration = Duration::from_secs(1);

/// How to start the proxy.
#[derive(Clone, Debug, Default)]
pub struct ProxyOptions {
    /// The program; default `$CONTAINER_IMAGE_PROXY`, else `container-image-proxy` on PATH.
    pub program: Option<PathBuf>,
    /// Proxy options (`--policy FILE`, `--tls-verify=false`, …), put before the image.
    pub args: Vec<OsString>,
    /// The image served when a request names none (`transport:reference`).
    pub image: Option<String>,
    /// The proxy's working directory (relative `oci:` paths resolve against it).
    pub cwd: Option<PathBuf>,
}

impl ProxyOptions {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn image(mut self, image: impl Into<String>) -> Self {
        self.image = Some(image.into());
        self
    }

    pub fn arg(mut self, arg: impl Into<OsString>) -> Self {
        self.args.push(arg.into());
        self
    }

    pub fn args<I: IntoIterator<Item = S>, S: Into<OsString>>(mut self, args: I) -> Self {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn program(mut self, program: impl Into<PathBuf>) -> Self {
        self.program = Some(program.into());
        self
    }

    pub fn cwd(mut self, cwd: impl Into<PathBuf>) -> Self {
        self.cwd = Some(cwd.into());
        self
    }

    fn resolved_program(&self) -> PathBuf {
        let from_env = std::env::var_os("CONTAINER_IMAGE_PROXY").filter(|value| !value.is_empty());
        self.program.clone().or_else(|| from_env.map(PathBuf::from)).unwrap_or_else(|| PathBuf::from("container-image-proxy"))
    }
}

/// The running proxy: how it ended, once it has, and the means to end it.
pub(crate) struct ProxyProcess {
    pub(crate) exit: ExitWatch,
    // Dropping it kills the proxy (a sidecar must not outlive its parent's interest in it).
    kill: Option<oneshot::Sender<()>>,
}

impl ProxyProcess {
    /// Starts the proxy; returns it and the parent's end of the socketpair.
    pub(crate) fn spawn(options: &ProxyOptions) -> Result<(ProxyProcess, UnixStream), Error> {
        let program = options.resolved_program();
        let socket_error = |source| Error::Io { what: "creating the socketpair".into(), source };
        let (parent, child_end) = std::os::unix::net::UnixStream::pair().map_err(socket_error)?;
        parent.set_nonblocking(true).map_err(socket_error)?;
        let mut command = Command::new(&program);
        command.arg(format!("--sockfd={CHILD_FD}")).args(&options.args).args(options.image.iter());
        command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).kill_on_drop(true);
        if let Some(cwd) = &options.cwd {
            command.current_dir(cwd);
        }
        // glibc gives each of the proxy's helper threads a malloc arena of its own unless told
        // otherwise (~13 MiB more at the peak); the npm bin sets this itself, the single
        // executable cannot. A value this process's environment holds wins.
        if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
            command.env("MALLOC_ARENA_MAX", "1");
        }
        let child_fd = child_end.as_raw_fd();
        // SAFETY: between fork and exec only async-signal-safe calls (dup2, fcntl) are made.
        unsafe {
            command.pre_exec(move || give_fd_as(child_fd, CHILD_FD));
        }
        let mut child = command.spawn().map_err(|source| Error::Spawn { program, source })?;
        drop(child_end); // the child has its copy; ours must close so the proxy sees our end go
        let stderr = child.stderr.take().expect("stderr is piped");
        let (exit_tx, exit) = watch::channel(None);
        let (kill, killed) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let last_line = Arc::new(Mutex::new(None));
            let forwarding = tokio::spawn(forward_stderr(stderr, last_line.clone()));
            let status = tokio::select! {
                status = child.wait() => status,
                _ = killed => {
                    let _ = child.start_kill();
                    child.wait().await
                }
            };
            let _ = tokio::time::timeout(STDERR_DRAIN, forwarding).await;
            let stderr = last_line.lock().map(|line| line.clone()).unwrap_or(None);
            if let Ok(status) = status {
                let _ = exit_tx.send(Some(ProxyExit { status, stderr }));
            }
        });
        let parent = UnixStream::from_std(parent).map_err(socket_error)?;
        Ok((ProxyProcess { exit: ExitWatch::new(exit), kill: Some(kill) }, parent))
    }

    pub(crate) fn kill(&mut self) {
        if let Some(kill) = self.kill.take() {
            let _ = kill.send(());
        }
    }
}

/// After the connection or a body broke, how long to wait for the proxy's exit status to name it.
pub(crate) const EXIT_GRACE: Duration = Duration::from_secs(1);

pub(crate) type ExitFuture = Pin<Box<dyn Future<Output = Option<ProxyExit>> + Send>>;

/// Where how the proxy ended becomes known.
#[derive(Clone)]
pub(crate) struct ExitWatch(watch::Receiver<Option<ProxyExit>>);

impl ExitWatch {
    pub(crate) fn new(exit: watch::Receiver<Option<ProxyExit>>) -> Self {
        ExitWatch(exit)
    }

    /// How the proxy ended, waiting at most `within` (None: it still runs, or was never reaped).
    pub(crate) fn within(&self, within: Duration) -> ExitFuture {
        let mut exit = self.0.clone();
        Box::pin(async move {
            let ended = async {
                loop {
                    let known = exit.borrow().clone();
                    if known.is_some() {
                        return known;
                    }
                    if exit.changed().await.is_err() {
                        return None;
                    }
                }
            };
            tokio::time::timeout(within, ended).await.ok().flatten()
        })
    }
}

/// In the child between fork and exec: puts the socket at `target`, inheritable.
fn give_fd_as(fd: i32, target: i32) -> io::Result<()> {
    // SAFETY: plain fd syscalls on descriptors this process owns.
    let result = unsafe {
        if fd == target {
            // dup2 onto itself would keep close-on-exec set: clear it instead.
            libc::fcntl(fd, libc::F_SETFD, 0)
        } else {
            libc::dup2(fd, target)
        }
    };
    if result < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Passes the proxy's stderr through to ours, line by line, keeping the last non-empty line
/// (the proxy reports each failure as one line) for the errors that say how it ended. Reads
/// bytes, not text: a line that is not UTF-8 must not stop the draining, or the proxy would
/// block once the pipe is full.
async fn forward_stderr(stderr: ChildStderr, last_line: Arc<Mutex<Option<String>>>) {
    let mut reader = BufReader::new(stderr);
    let mut ours = tokio::io::stderr();
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let _ = ours.write_all(&line).await;
        let text = String::from_utf8_lossy(&line).trim_end().to_owned();
        if !text.is_empty() {
            if let Ok(mut last) = last_line.lock() {
                *last = Some(text);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_program_option_wins_over_the_environment_and_path() {
        let options = ProxyOptions::new().program("/opt/proxy/bin/container-image-proxy");
        assert_eq!(options.resolved_program(), PathBuf::from("/opt/proxy/bin/container-image-proxy"));
    }
}
