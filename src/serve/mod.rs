//! `eventfeed serve`: the daemon plus an HTTP server for its output directory, for
//! small deployments and for a local preview. The server is a shell beside the
//! daemon, not part of it: it only reads the output directory (which the sink
//! changes by atomic renames, so a request never sees half a feed), and needs
//! nothing from the engine, so the core stays free of network code.
//!
//! It runs on a runtime and threads of its own, so a batch in progress never
//! delays an answer. `files` decides what a request path names and what the
//! answer says about it; `encoding` picks and makes the compressed forms.

mod encoding;
mod files;

use crate::config::{self, Settings};
use anyhow::Context as _;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use axum::routing::get;
use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

pub use files::{content_type, Files};

/// How long the server gets to finish the requests in flight when the daemon stops.
const SHUTDOWN: Duration = Duration::from_secs(2);
/// Connections open at once; more wait to be accepted. Each costs a descriptor.
const MAX_CONNECTIONS: usize = 512;
/// How long a client may take to send a request's headers (slowloris).
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a connection may stay open, idle keep-alive included: then it is
/// closed after the request in flight, and the client reconnects.
const CONNECTION_LIFETIME: Duration = Duration::from_secs(300);

/// Binds `listen` (the flag, else the config's `[serve] listen`), then runs the
/// daemon with the server beside it until the daemon stops. `load` loads the
/// settings given the bound address (their base URL when none is set).
pub fn run(
    config: Option<&Path>,
    listen: Option<SocketAddr>,
    load: impl Fn(SocketAddr) -> Result<Settings, crate::Failure>,
) -> Result<ExitCode, crate::Failure> {
    let addr = config::listen(config, listen).map_err(crate::Failure::Config)?;
    let listener =
        std::net::TcpListener::bind(addr).with_context(|| format!("cannot listen on {addr}"))?;
    listener
        .set_nonblocking(true)
        .context("cannot set up the listener")?;
    let bound = listener
        .local_addr()
        .context("cannot set up the listener")?;
    let settings = load(bound)?;
    std::fs::create_dir_all(&settings.output).with_context(|| {
        format!(
            "cannot create output directory {}",
            settings.output.display()
        )
    })?;
    let files = Files::new(&settings.output, &settings.serve)?;
    let server = Server::start(listener, files)?;
    tracing::info!(
        "listening on http://{bound}/ (feeds link to {})",
        settings.site.links.feeds_root()
    );
    let result = crate::watch::run(settings, || load(bound));
    server.stop();
    result
}

/// The HTTP server's thread, and how to stop it.
struct Server {
    stop: tokio::sync::oneshot::Sender<()>,
    done: std::sync::mpsc::Receiver<()>,
}

impl Server {
    fn start(listener: std::net::TcpListener, files: Files) -> anyhow::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("http")
            .enable_all()
            .build()
            .context("cannot start the HTTP runtime")?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (finished, done) = std::sync::mpsc::channel();
        let app = router(Arc::new(files));
        std::thread::Builder::new()
            .name("http".into())
            .spawn(move || {
                runtime.block_on(accept(listener, app, stopped));
                runtime.shutdown_timeout(Duration::ZERO);
                let _ = finished.send(());
            })
            .context("cannot start the HTTP thread")?;
        Ok(Self { stop, done })
    }

    /// Stops accepting, and waits a little for the requests in flight.
    fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.done.recv_timeout(SHUTDOWN);
    }
}

/// Accepts connections until `stop`, then lets each finish its request in
/// flight. hyper on its own rather than `axum::serve`, which sets no limits: a
/// server that may face the internet caps its connections and their time.
async fn accept(
    listener: std::net::TcpListener,
    app: axum::Router,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) {
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(l) => l,
        Err(e) => return tracing::error!("cannot serve HTTP: {e}"),
    };
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let (closing, closed) = tokio::sync::watch::channel(false);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("never closed"),
            _ = &mut stop => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                // Out of descriptors, most likely: wait for some to close.
                Err(e) => {
                    tracing::warn!("cannot accept a connection: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = &mut stop => break,
        };
        let service = hyper_util::service::TowerToHyperService::new(app.clone());
        let mut closed = closed.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => return,
                _ = closed.changed() => {}
                () = tokio::time::sleep(CONNECTION_LIFETIME) => {}
            }
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        });
    }
    let _ = closing.send(true);
    // Every connection task holds a slot until it ends.
    let _ = slots.acquire_many(MAX_CONNECTIONS as u32).await;
}

/// Every GET (and so HEAD, which axum answers with the GET's headers) goes to the
/// output directory; other methods get 405.
pub fn router(files: Arc<Files>) -> axum::Router {
    axum::Router::new()
        .route("/", get(serve_file))
        .route("/{*path}", get(serve_file))
        .with_state(files)
}

async fn serve_file(State(files): State<Arc<Files>>, uri: Uri, headers: HeaderMap) -> Response {
    let path = uri.path().to_owned();
    // File reads and compression block: off the async workers.
    let response = tokio::task::spawn_blocking(move || files.answer(&uri, &headers))
        .await
        .unwrap_or_else(|e| {
            tracing::error!("a request failed: {e}");
            files::status(axum::http::StatusCode::INTERNAL_SERVER_ERROR)
        });
    tracing::debug!(status = response.status().as_u16(), path, "request");
    response
}
