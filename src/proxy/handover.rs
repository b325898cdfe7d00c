//! Hot restart: a proxy started with the `--socket-path` of a running proxy takes over that
//! proxy's listening sockets, and once it is ready the old proxy drains and exits. Envoy does the
//! same over its hot-restart domain socket; restarting a gateway on another control plane
//! revision, or moving a workload's sidecar to one, then drops nothing.
//!
//! The sockets themselves are passed (`SCM_RIGHTS`), not their addresses bound again with
//! `SO_REUSEPORT`: both processes then accept from one kernel queue, so a connection that
//! arrives while the old proxy closes its copy is accepted by the new one. With two sockets
//! sharing a port, the connections queued on the closing one would be reset.
//!
//! The exchange, one `SOCK_SEQPACKET` message each (so no framing is needed):
//! - new → old `sockets`; old → new one or more `{"addresses":[…],"more":bool}` messages, each
//!   carrying the listening sockets of those addresses in order;
//! - new → old `drain` once the new proxy serves its first complete config; old → new
//!   `draining`, and the old proxy stops accepting and drains.
//!
//! A new proxy that dies before it is ready never sends `drain`: the old one keeps serving.

use std::collections::HashMap;
use std::io::{self, IoSlice, IoSliceMut};
use std::mem::MaybeUninit;
use std::net::SocketAddr;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rustix::net::{
    AddressFamily, RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, SendAncillaryBuffer,
    SendAncillaryMessage, SendFlags, SocketAddrUnix, SocketFlags, SocketType,
};
use serde::{Deserialize, Serialize};

/// Sockets per message: well under the kernel's limit of 253 descriptors per `SCM_RIGHTS`.
const PER_MESSAGE: usize = 64;
/// A proxy that does not answer within this is treated as wedged (the exchange is local and
/// takes microseconds).
const TIMEOUT: Duration = Duration::from_secs(5);
const MAX_MESSAGE: usize = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum HandoverError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{path}: the proxy there answered {0:?}, not the hot-restart protocol", .what)]
    Protocol { path: PathBuf, what: String },
}

#[derive(Debug, Serialize, Deserialize)]
struct Batch {
    addresses: Vec<SocketAddr>,
    more: bool,
}

/// The connection to the proxy being replaced.
#[derive(Debug)]
pub struct Parent {
    conn: OwnedFd,
    path: PathBuf,
}

/// Listening sockets taken over, by address.
pub type Inherited = HashMap<SocketAddr, std::net::TcpListener>;

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> HandoverError + '_ {
    move |source| HandoverError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn unix_address(path: &Path) -> io::Result<SocketAddrUnix> {
    SocketAddrUnix::new(path).map_err(|e| {
        io::Error::new(
            e.kind(),
            "not usable as a Unix socket path (at most 107 bytes)",
        )
    })
}

fn seqpacket() -> io::Result<OwnedFd> {
    Ok(rustix::net::socket_with(
        AddressFamily::UNIX,
        SocketType::SEQPACKET,
        SocketFlags::CLOEXEC,
        None,
    )?)
}

fn with_timeouts(fd: &OwnedFd) -> io::Result<()> {
    use rustix::net::sockopt::{Timeout, set_socket_timeout};
    set_socket_timeout(fd, Timeout::Recv, Some(TIMEOUT))?;
    set_socket_timeout(fd, Timeout::Send, Some(TIMEOUT))?;
    Ok(())
}

fn send(fd: &OwnedFd, data: &[u8], sockets: &[BorrowedFd<'_>]) -> io::Result<()> {
    let mut space = vec![MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(PER_MESSAGE))];
    let mut control = SendAncillaryBuffer::new(&mut space);
    if !sockets.is_empty() && !control.push(SendAncillaryMessage::ScmRights(sockets)) {
        return Err(io::Error::other("too many sockets for one message"));
    }
    rustix::net::sendmsg(fd, &[IoSlice::new(data)], &mut control, SendFlags::NOSIGNAL)?;
    Ok(())
}

/// One message and the sockets it carried.
fn receive(fd: &OwnedFd) -> io::Result<(Vec<u8>, Vec<OwnedFd>)> {
    let mut buf = vec![0u8; MAX_MESSAGE];
    let mut space = vec![MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(PER_MESSAGE))];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    let msg = rustix::net::recvmsg(
        fd,
        &mut [IoSliceMut::new(&mut buf)],
        &mut control,
        RecvFlags::CMSG_CLOEXEC,
    )?;
    let mut fds = Vec::new();
    for m in control.drain() {
        if let RecvAncillaryMessage::ScmRights(received) = m {
            fds.extend(received);
        }
    }
    buf.truncate(msg.bytes);
    Ok((buf, fds))
}

/// Connects to the proxy serving `path` and takes its listening sockets. `None` when no proxy
/// serves there (no file, or a stale one a dead proxy left).
pub fn take_over(path: &Path) -> Result<Option<(Parent, Inherited)>, HandoverError> {
    let address = unix_address(path).map_err(io_error(path))?;
    let conn = seqpacket().map_err(io_error(path))?;
    match rustix::net::connect(&conn, &address) {
        Ok(()) => {}
        Err(rustix::io::Errno::NOENT | rustix::io::Errno::CONNREFUSED) => return Ok(None),
        Err(e) => return Err(io_error(path)(e.into())),
    }
    with_timeouts(&conn).map_err(io_error(path))?;
    send(&conn, b"sockets", &[]).map_err(io_error(path))?;
    let mut inherited = Inherited::new();
    loop {
        let (data, fds) = receive(&conn).map_err(io_error(path))?;
        let batch: Batch = serde_json::from_slice(&data).map_err(|_| HandoverError::Protocol {
            path: path.to_path_buf(),
            what: String::from_utf8_lossy(&data).into_owned(),
        })?;
        if batch.addresses.len() != fds.len() {
            return Err(HandoverError::Protocol {
                path: path.to_path_buf(),
                what: format!(
                    "{} addresses with {} sockets",
                    batch.addresses.len(),
                    fds.len()
                ),
            });
        }
        for (address, fd) in batch.addresses.into_iter().zip(fds) {
            inherited.insert(address, std::net::TcpListener::from(fd));
        }
        if !batch.more {
            break;
        }
    }
    Ok(Some((
        Parent {
            conn,
            path: path.to_path_buf(),
        },
        inherited,
    )))
}

impl Parent {
    /// Tells the old proxy to stop accepting and drain; returns once it has agreed.
    pub fn drain(self) -> Result<(), HandoverError> {
        send(&self.conn, b"drain", &[]).map_err(io_error(&self.path))?;
        let (answer, _) = receive(&self.conn).map_err(io_error(&self.path))?;
        if answer != b"draining" {
            return Err(HandoverError::Protocol {
                path: self.path,
                what: String::from_utf8_lossy(&answer).into_owned(),
            });
        }
        Ok(())
    }
}

/// What the serving side needs from the proxy.
pub trait Handoff: Send + Sync + 'static {
    /// The bound listening sockets, by address.
    fn listening(&self) -> Vec<(SocketAddr, OwnedFd)>;
    /// A successor is ready: stop accepting and drain.
    fn hand_over(&self);
}

/// Serves `path` for the next proxy, on a thread of its own (the exchange is a few blocking
/// calls), until a successor has taken over. The path is bound under a temporary name and
/// renamed into place, so a successor never finds it missing.
pub fn serve(path: &Path, proxy: std::sync::Arc<dyn Handoff>) -> Result<(), HandoverError> {
    let tmp = path.with_extension(format!("{}.tmp", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let listener = seqpacket().map_err(io_error(path))?;
    rustix::net::bind(&listener, &unix_address(&tmp).map_err(io_error(&tmp))?)
        .map_err(|e| io_error(&tmp)(e.into()))?;
    rustix::net::listen(&listener, 4).map_err(|e| io_error(&tmp)(e.into()))?;
    std::fs::rename(&tmp, path).map_err(io_error(path))?;
    let shown = path.to_path_buf();
    let path = path.to_path_buf();
    std::thread::Builder::new()
        .name("hot-restart".into())
        .spawn(move || {
            loop {
                let conn = match rustix::net::accept_with(&listener, SocketFlags::CLOEXEC) {
                    Ok(c) => c,
                    Err(rustix::io::Errno::INTR) => continue,
                    Err(e) => {
                        tracing::warn!(path = %path.display(), "hot restart: accept: {e}");
                        return;
                    }
                };
                match answer(&conn, proxy.as_ref()) {
                    Ok(true) => return,
                    Ok(false) => {}
                    Err(e) => {
                        tracing::warn!(path = %path.display(), "hot restart: {e}");
                    }
                }
            }
        })
        .map_err(|e| HandoverError::Io {
            path: shown,
            source: e,
        })?;
    Ok(())
}

/// Answers one successor; `true` once it has taken over and this proxy is draining.
fn answer(conn: &OwnedFd, proxy: &dyn Handoff) -> io::Result<bool> {
    with_timeouts(conn)?;
    loop {
        let (request, _) = match receive(conn) {
            Ok(r) => r,
            // The successor went away before it was ready: keep serving.
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(e) => return Err(e),
        };
        match request.as_slice() {
            b"" => return Ok(false),
            b"sockets" => {
                let listening = proxy.listening();
                let mut chunks = listening.chunks(PER_MESSAGE).peekable();
                if chunks.peek().is_none() {
                    send_batch(conn, &[], false)?;
                }
                while let Some(chunk) = chunks.next() {
                    send_batch(conn, chunk, chunks.peek().is_some())?;
                }
                // The successor asks to drain once it has its config, however long that takes;
                // until then (or until it goes away) this proxy keeps serving.
                rustix::net::sockopt::set_socket_timeout(
                    conn,
                    rustix::net::sockopt::Timeout::Recv,
                    None,
                )?;
            }
            b"drain" => {
                proxy.hand_over();
                send(conn, b"draining", &[])?;
                return Ok(true);
            }
            other => {
                return Err(io::Error::other(format!(
                    "unknown request {:?}",
                    String::from_utf8_lossy(other)
                )));
            }
        }
    }
}

fn send_batch(conn: &OwnedFd, chunk: &[(SocketAddr, OwnedFd)], more: bool) -> io::Result<()> {
    let batch = Batch {
        addresses: chunk.iter().map(|(a, _)| *a).collect(),
        more,
    };
    let data = serde_json::to_vec(&batch).map_err(io::Error::other)?;
    let fds: Vec<BorrowedFd<'_>> = chunk.iter().map(|(_, fd)| fd.as_fd()).collect();
    send(conn, &data, &fds)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read as _, Write as _};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};

    struct Fake {
        listeners: Vec<std::net::TcpListener>,
        handed_over: AtomicBool,
        /// Dropped on hand-over, as the proxy closes its copies.
        held: Mutex<Vec<std::net::TcpListener>>,
    }

    impl Handoff for Fake {
        fn listening(&self) -> Vec<(SocketAddr, OwnedFd)> {
            self.listeners
                .iter()
                .map(|l| {
                    (
                        l.local_addr().expect("addr"),
                        OwnedFd::from(l.try_clone().expect("dup")),
                    )
                })
                .collect()
        }
        fn hand_over(&self) {
            self.handed_over.store(true, Ordering::SeqCst);
            self.held.lock().expect("lock").clear();
        }
    }

    #[test]
    fn no_proxy_at_the_path_means_a_fresh_start() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("gw.sock");
        assert!(take_over(&path).expect("no file").is_none());
        // A stale socket file a dead proxy left behind.
        let stale = std::os::unix::net::UnixListener::bind(&path).expect("bind");
        drop(stale);
        assert!(take_over(&path).expect("stale").is_none());
    }

    /// The successor accepts on the very sockets the old proxy listened on, including a
    /// connection that arrived before it took over, and the old one is told to drain only when
    /// the successor asks.
    #[test]
    fn the_successor_takes_the_listening_sockets_and_then_the_traffic() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("gw.sock");
        let listeners: Vec<_> = (0..(PER_MESSAGE + 3))
            .map(|_| std::net::TcpListener::bind("127.0.0.1:0").expect("bind"))
            .collect();
        let first = listeners[0].local_addr().expect("addr");
        let held = listeners
            .iter()
            .map(|l| l.try_clone().expect("dup"))
            .collect();
        let fake = Arc::new(Fake {
            listeners,
            handed_over: AtomicBool::new(false),
            held: Mutex::new(held),
        });
        serve(&path, fake.clone()).expect("serve");
        // Queued on the old proxy's socket before anyone took over.
        let mut early = std::net::TcpStream::connect(first).expect("connect");
        early.write_all(b"early").expect("write");

        let (parent, mut inherited) = take_over(&path).expect("take over").expect("a parent");
        assert_eq!(inherited.len(), PER_MESSAGE + 3);
        assert!(!fake.handed_over.load(Ordering::SeqCst));
        parent.drain().expect("drain");
        assert!(fake.handed_over.load(Ordering::SeqCst));
        // The old proxy's copies are gone; the successor's still accept, the queue included.
        drop(fake);
        let socket = inherited.remove(&first).expect("the first address");
        let (mut accepted, _) = socket.accept().expect("the queued connection");
        let mut buf = [0u8; 5];
        accepted.read_exact(&mut buf).expect("read");
        assert_eq!(&buf, b"early");
        let _late = std::net::TcpStream::connect(first).expect("still listening");
        socket.accept().expect("a new connection");
    }
}
