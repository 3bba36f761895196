//! A fault-injecting HTTP proxy of the project's own, between the runtime and a
//! sandbox: not the sandbox's fault plans, but a plain TCP listener on 127.0.0.1 that
//! decides per request (a seeded mix, or a script for the next requests) to pass it
//! on, cut the connection before or after the sandbox committed, answer as a gateway
//! would (502 with an HTML page, 503 and 429 with `Retry-After`), answer too late,
//! send half a body, or answer 200 with a body that is not JSON.
//!
//! One request per connection (every answer says `connection: close`), so a fault
//! never leaks into the next request.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the proxy does with one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Fault {
    /// Forward it and answer with the sandbox's answer.
    Pass,
    /// Cut the connection (RST) without forwarding: the sandbox never sees it.
    ResetBefore,
    /// Forward it, read the sandbox's whole answer, then cut the connection: the
    /// write is committed and the client never hears so.
    ResetAfter,
    /// A gateway's 502 with an HTML page, without forwarding.
    BadGateway,
    /// 503 with `Retry-After`, without forwarding.
    Unavailable,
    /// 429 with `Retry-After`, without forwarding.
    TooManyRequests,
    /// Forward it, then answer after the proxy's `delay` (beyond the client's deadline).
    Slow,
    /// Forward it, then send the headers and half of the body, and close.
    HalfBody,
    /// Forward it, then answer 200 with an HTML body.
    NotJson,
}

impl Fault {
    pub const ALL: [Fault; 9] = [
        Fault::Pass,
        Fault::ResetBefore,
        Fault::ResetAfter,
        Fault::BadGateway,
        Fault::Unavailable,
        Fault::TooManyRequests,
        Fault::Slow,
        Fault::HalfBody,
        Fault::NotJson,
    ];

    /// Whether the sandbox received the request.
    pub fn forwards(self) -> bool {
        matches!(
            self,
            Fault::Pass | Fault::ResetAfter | Fault::Slow | Fault::HalfBody | Fault::NotJson
        )
    }
}

/// How often each fault happens when no script says otherwise, and the seed.
#[derive(Clone, Debug)]
pub struct FaultMix {
    pub seed: u64,
    /// Weights (any unit): a request gets fault `f` with probability weight(f) / sum.
    pub weights: Vec<(Fault, u32)>,
    /// The `Retry-After` of 503s and 429s.
    pub retry_after: String,
    /// How late a `Slow` answer comes.
    pub delay: Duration,
}

impl FaultMix {
    /// Every request passes.
    pub fn none() -> FaultMix {
        FaultMix {
            seed: 0,
            weights: vec![(Fault::Pass, 1)],
            retry_after: "1".into(),
            delay: Duration::from_secs(2),
        }
    }
}

/// One request as the proxy handled it, logged before the client gets its answer.
#[derive(Clone, Debug)]
pub struct Exchange {
    pub method: String,
    pub path: String,
    pub fault: Fault,
    /// When the request had arrived whole.
    pub received: Instant,
    /// When the proxy decided its answer, before sending it (or cutting the
    /// connection): the client hears of the outcome after this instant.
    pub answered: Instant,
    /// The status the client was sent (`None`: cut off or half a body).
    pub status: Option<u16>,
}

pub struct FaultProxy {
    addr: std::net::SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

struct Shared {
    target: String,
    mix: Mutex<FaultMix>,
    script: Mutex<VecDeque<Fault>>,
    sequence: AtomicU64,
    log: Mutex<Vec<Exchange>>,
    upstream: reqwest::Client,
}

impl FaultProxy {
    /// A proxy on 127.0.0.1 (a free port) in front of `target` (`http://127.0.0.1:N`).
    pub async fn start(target: &str, mix: FaultMix) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("proxy binds");
        let addr = listener.local_addr().expect("proxy address");
        let shared = Arc::new(Shared {
            target: target.trim_end_matches('/').to_string(),
            mix: Mutex::new(mix),
            script: Mutex::new(VecDeque::new()),
            sequence: AtomicU64::new(0),
            log: Mutex::new(Vec::new()),
            upstream: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("upstream client"),
        });
        let serving = shared.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serving.clone().handle(stream));
            }
        });
        FaultProxy { addr, shared, task }
    }

    /// The origin to give a connection (`Connection::with_origin`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The faults of the next requests, in order, before the mix applies again.
    pub fn script(&self, faults: impl IntoIterator<Item = Fault>) {
        self.shared.script.lock().unwrap().extend(faults);
    }

    pub fn set_mix(&self, mix: FaultMix) {
        *self.shared.mix.lock().unwrap() = mix;
    }

    /// Every request handled so far, in the order they finished.
    pub fn exchanges(&self) -> Vec<Exchange> {
        self.shared.log.lock().unwrap().clone()
    }

    /// How many requests got `fault`.
    pub fn count(&self, fault: Fault) -> usize {
        self.exchanges().iter().filter(|e| e.fault == fault).count()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The sandbox's answer: status, headers (without framing ones), whole body.
type Upstream = (u16, Vec<(String, String)>, Vec<u8>);

/// What the proxy sends back.
enum Reply {
    /// Cut the connection with a reset.
    Reset,
    /// A whole answer, after `delay`.
    Answer {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
        delay: Duration,
    },
    /// The headers and half of the body, then the end of the connection.
    Half {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
}

/// A request as read off the socket.
struct Incoming {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Shared {
    fn decide(&self) -> Fault {
        if let Some(fault) = self.script.lock().unwrap().pop_front() {
            return fault;
        }
        let mix = self.mix.lock().unwrap();
        let n = self.sequence.fetch_add(1, Ordering::Relaxed);
        let total: u64 = mix.weights.iter().map(|(_, w)| u64::from(*w)).sum();
        let mut roll = splitmix64(mix.seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15)) % total.max(1);
        for (fault, weight) in &mix.weights {
            if roll < u64::from(*weight) {
                return *fault;
            }
            roll -= u64::from(*weight);
        }
        Fault::Pass
    }

    async fn handle(self: Arc<Self>, mut stream: TcpStream) {
        let Some(request) = read_request(&mut stream).await else {
            return;
        };
        let received = Instant::now();
        let fault = self.decide();
        let upstream = if fault.forwards() {
            self.forward(&request).await
        } else {
            None
        };
        let reply = self.reply(fault, upstream);
        // Logged before the client hears anything: whoever reads the log after the
        // client's call returned finds this exchange in it.
        self.log.lock().unwrap().push(Exchange {
            method: request.method,
            path: request.path,
            fault,
            received,
            answered: Instant::now(),
            status: match &reply {
                Reply::Answer { status, .. } => Some(*status),
                Reply::Reset | Reply::Half { .. } => None,
            },
        });
        match reply {
            Reply::Reset => reset(stream),
            Reply::Answer {
                status,
                headers,
                body,
                delay,
            } => {
                tokio::time::sleep(delay).await;
                answer(&mut stream, status, &borrowed(&headers), &body).await;
            }
            Reply::Half {
                status,
                headers,
                body,
            } => half_answer(&mut stream, status, &borrowed(&headers), &body).await,
        }
    }

    /// What the client gets for `fault`, given the sandbox's answer when forwarded.
    fn reply(&self, fault: Fault, upstream: Option<Upstream>) -> Reply {
        let (retry_after, delay) = {
            let mix = self.mix.lock().unwrap();
            (mix.retry_after.clone(), mix.delay)
        };
        let html = |status: u16, extra: Vec<(String, String)>, page: &str| Reply::Answer {
            status,
            headers: [("content-type".to_string(), "text/html".to_string())]
                .into_iter()
                .chain(extra)
                .collect(),
            body: page.as_bytes().to_vec(),
            delay: Duration::ZERO,
        };
        match (fault, upstream) {
            (Fault::ResetBefore | Fault::ResetAfter, _) => Reply::Reset,
            (Fault::BadGateway, _) => html(
                502,
                Vec::new(),
                "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>",
            ),
            (Fault::Unavailable | Fault::TooManyRequests, _) => html(
                if fault == Fault::Unavailable {
                    503
                } else {
                    429
                },
                vec![("retry-after".to_string(), retry_after)],
                "<html><body>Slow down</body></html>",
            ),
            // The sandbox could not be reached: what a gateway says then.
            (_, None) => html(502, Vec::new(), "<html>no upstream</html>"),
            (Fault::HalfBody, Some((status, headers, body))) => Reply::Half {
                status,
                headers,
                body,
            },
            (Fault::NotJson, Some(_)) => Reply::Answer {
                status: 200,
                headers: vec![("content-type".into(), "application/json".into())],
                body: b"<html><body>OK</body></html>".to_vec(),
                delay: Duration::ZERO,
            },
            (fault, Some((status, headers, body))) => Reply::Answer {
                status,
                headers,
                body,
                delay: if fault == Fault::Slow {
                    delay
                } else {
                    Duration::ZERO
                },
            },
        }
    }

    /// Sends the request to the sandbox and reads its whole answer.
    async fn forward(&self, request: &Incoming) -> Option<Upstream> {
        let method = reqwest::Method::from_bytes(request.method.as_bytes()).ok()?;
        let mut builder = self
            .upstream
            .request(method, format!("{}{}", self.target, request.path))
            .body(request.body.clone());
        for (name, value) in &request.headers {
            if !matches!(
                name.as_str(),
                "host" | "connection" | "content-length" | "keep-alive"
            ) {
                builder = builder.header(name, value);
            }
        }
        let response = builder.send().await.ok()?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .filter(|(name, _)| {
                !matches!(
                    name.as_str(),
                    "content-length" | "transfer-encoding" | "connection"
                )
            })
            .filter_map(|(name, value)| Some((name.to_string(), value.to_str().ok()?.to_string())))
            .collect();
        let body = response.bytes().await.ok()?.to_vec();
        Some((status, headers, body))
    }
}

fn borrowed(headers: &[(String, String)]) -> Vec<(&str, &str)> {
    headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect()
}

/// Reads one HTTP/1.1 request (headers, then `content-length` bytes of body).
async fn read_request(stream: &mut TcpStream) -> Option<Incoming> {
    let mut buffer = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    let header_end = loop {
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let read = stream.read(&mut chunk).await.ok()?;
        if read == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..read]);
    };
    let head = String::from_utf8_lossy(&buffer[..header_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let method = request_line.next()?.to_string();
    let path = request_line.next()?.to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_string()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(name, _)| name == "content-length")
        .and_then(|(_, value)| value.parse().ok())
        .unwrap_or(0);
    let mut body = buffer[header_end..].to_vec();
    while body.len() < length {
        let read = stream.read(&mut chunk).await.ok()?;
        if read == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..read]);
    }
    Some(Incoming {
        method,
        path,
        headers,
        body,
    })
}

fn head(status: u16, headers: &[(&str, &str)], length: usize) -> Vec<u8> {
    let mut head = format!("HTTP/1.1 {status} {}\r\n", reason(status));
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!(
        "content-length: {length}\r\nconnection: close\r\n\r\n"
    ));
    head.into_bytes()
}

async fn answer(stream: &mut TcpStream, status: u16, headers: &[(&str, &str)], body: &[u8]) {
    let mut bytes = head(status, headers, body.len());
    bytes.extend_from_slice(body);
    // The client may have given up already (a slow answer): that is the point.
    let _ = stream.write_all(&bytes).await;
    let _ = stream.shutdown().await;
}

async fn half_answer(stream: &mut TcpStream, status: u16, headers: &[(&str, &str)], body: &[u8]) {
    let mut bytes = head(status, headers, body.len().max(2));
    bytes.extend_from_slice(&body[..body.len() / 2]);
    let _ = stream.write_all(&bytes).await;
    let _ = stream.shutdown().await;
}

/// Closes with a TCP reset rather than a clean end: the client sees "connection reset".
fn reset(stream: TcpStream) {
    // A zero linger never blocks: the kernel drops the socket and sends RST.
    #[allow(deprecated)]
    let _ = stream.set_linger(Some(Duration::ZERO));
    drop(stream);
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        400 => "Bad Request",
        404 => "Not Found",
        409 => "Conflict",
        429 => "Too Many Requests",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

/// A fast, well-mixed 64-bit hash (SplitMix64), for per-request decisions from a seed.
fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}
