//! Benchmarks the web ports' proxy on this machine, in one run, against the real
//! binary and real Docker (`cargo bench -p playlab --bench ports`): a 100 MiB download
//! and 1 000 sequential small requests (a 20-byte file) from the test app on a node
//! (`tests/fixtures/ports`: python3's `http.server`), measured
//! - as the baseline, by curl inside the node against `127.0.0.1:8080` (no proxy, no
//!   Docker network: what the app itself can do);
//! - through the proxy from the host, by a Rust client with the learner's cookie
//!   (one kept-alive connection to playlab, as a browser's), in path mode and in host
//!   mode (`--traffic-domain localhost`).
//!
//! Targets: throughput through the proxy at least 0.8 of the baseline's, p50 latency
//! at most 1 ms above it.

#[path = "../tests/common/mod.rs"]
mod common;
mod measure;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{Client, ServerProcess};
use futures::StreamExt;
use measure::{ms, percentile};
use reqwest::StatusCode;

const BIG_BYTES: u64 = 100 * 1024 * 1024;
const SMALL_REQUESTS: usize = 1000;
/// Each download is measured this many times; the median is reported.
const DOWNLOADS: usize = 3;
const TINY: &str = "/hello.txt";
const BIG: &str = "/big.bin";

/// What one way of reaching the app measured.
struct Measured {
    /// MiB/s of the 100 MiB download, the median of [`DOWNLOADS`].
    mib_s: f64,
    p50: Duration,
    p99: Duration,
}

fn docker_exec(container: &str, args: &[&str]) -> String {
    let out = Command::new("docker")
        .args(["exec", container])
        .args(args)
        .output()
        .expect("docker runs");
    assert!(
        out.status.success(),
        "docker exec {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// curl in the node: the download's own rate, and each small request's time on one
/// kept-alive connection (curl's URL range reuses it), as curl times them.
fn baseline(container: &str) -> Measured {
    let url = |path: &str| format!("http://127.0.0.1:8080{path}");
    let rates = (0..DOWNLOADS)
        .map(|_| {
            let speed = docker_exec(
                container,
                &[
                    "curl",
                    "-sf",
                    "-o",
                    "/dev/null",
                    "-w",
                    "%{speed_download}",
                    &url(BIG),
                ],
            );
            speed.trim().parse::<f64>().unwrap() / (1024.0 * 1024.0)
        })
        .collect();
    let range = format!("{}?[1-{SMALL_REQUESTS}]", url(TINY));
    let times = docker_exec(
        container,
        &[
            "curl",
            "-sf",
            "-o",
            "/dev/null",
            "-w",
            "%{time_total}\\n",
            &range,
        ],
    );
    let mut samples: Vec<Duration> = times
        .lines()
        .map(|t| Duration::from_secs_f64(t.parse().unwrap()))
        .collect();
    assert_eq!(samples.len(), SMALL_REQUESTS);
    Measured {
        mib_s: median(rates),
        p50: percentile(&mut samples, 0.5),
        p99: percentile(&mut samples, 0.99),
    }
}

/// The same through the proxy: `base` is where the app's `/` is.
async fn through_proxy(http: &reqwest::Client, base: &str) -> Measured {
    let mut rates = Vec::with_capacity(DOWNLOADS);
    for _ in 0..DOWNLOADS {
        let began = Instant::now();
        let response = http.get(format!("{base}{BIG}")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let mut body = response.bytes_stream();
        let mut bytes = 0u64;
        while let Some(chunk) = body.next().await {
            bytes += chunk.unwrap().len() as u64;
        }
        assert_eq!(bytes, BIG_BYTES);
        rates.push(bytes as f64 / began.elapsed().as_secs_f64() / (1024.0 * 1024.0));
    }
    let mut samples = Vec::with_capacity(SMALL_REQUESTS);
    for i in 0..SMALL_REQUESTS {
        let began = Instant::now();
        let response = http.get(format!("{base}{TINY}?{i}")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.bytes().await.unwrap();
        samples.push(began.elapsed());
    }
    Measured {
        mib_s: median(rates),
        p50: percentile(&mut samples, 0.5),
        p99: percentile(&mut samples, 0.99),
    }
}

/// Where the tab's way in (`open`) sends the learner in host mode: the login, with a
/// ticket, on the port's own host.
async fn host_mode_login(server: &ServerProcess, learner: &Client, id: &str) -> String {
    let no_redirects = reqwest::Client::builder()
        .cookie_provider(learner.jar.clone())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let open = format!(
        "{}/api/sessions/{id}/ports/web/8080?path={TINY}",
        server.url
    );
    let answer = no_redirects.get(open).send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    answer.headers()["location"].to_str().unwrap().to_owned()
}

fn row(what: &str, base: &str, path: &str, host: &str) {
    println!("{what:<34} {base:>14} {path:>22} {host:>22}");
}

#[tokio::main]
async fn main() {
    let content = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ports");
    let server = ServerProcess::start(&content, &["--traffic-domain", "localhost"]).await;
    let learner = Client::new(&server.url);
    let id = learner.ready_session_of("web").await;
    let container = format!("playlab-{id}-web");
    let path_base = format!("{}/ports/{id}/web/8080", server.url);
    // The app is started in the background by the lesson's setup.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !learner
        .http
        .get(format!("{path_base}{TINY}"))
        .send()
        .await
        .is_ok_and(|r| r.status() == StatusCode::OK)
    {
        assert!(Instant::now() < deadline, "the node's app never answered");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    docker_exec(
        &container,
        &[
            "sh",
            "-c",
            &format!("head -c {BIG_BYTES} /dev/zero > /srv/www{BIG}"),
        ],
    );

    let base = baseline(&container);
    let path = through_proxy(&learner.http, &path_base).await;
    let login = host_mode_login(&server, &learner, &id).await;
    let host = format!("8080-web-{id}.localhost");
    let address: std::net::SocketAddr = format!("127.0.0.1:{}", server.port).parse().unwrap();
    // A browser that finds `*.localhost` on the server, as browsers do without DNS.
    let browser = reqwest::Client::builder()
        .resolve(&host, address)
        .cookie_store(true)
        .build()
        .unwrap();
    let signed_in = browser.get(&login).send().await.unwrap();
    assert_eq!(signed_in.status(), StatusCode::OK, "the host-mode login");
    let on_host = through_proxy(&browser, &format!("http://{host}:{}", server.port)).await;
    let rss = server.rss_mib();

    println!(
        "playlab web ports benchmark: python3 http.server on a node (debian:bookworm-slim), \
         100 MiB download (median of {DOWNLOADS}) and {SMALL_REQUESTS} sequential 20-byte GETs\n"
    );
    row("", "curl in node", "proxy, path mode", "proxy, host mode");
    let rate = |m: &Measured| format!("{:.0}", m.mib_s);
    let ratio = |m: &Measured| format!("{:.0} ({:.2}x)", m.mib_s, m.mib_s / base.mib_s);
    row(
        "100 MiB download, MiB/s",
        &rate(&base),
        &ratio(&path),
        &ratio(&on_host),
    );
    let delta = |m: Duration, b: Duration| {
        format!(
            "{} (+{:.2})",
            ms(m),
            (m.as_secs_f64() - b.as_secs_f64()) * 1000.0
        )
    };
    row(
        "small GET p50",
        &ms(base.p50),
        &delta(path.p50, base.p50),
        &delta(on_host.p50, base.p50),
    );
    row(
        "small GET p99",
        &ms(base.p99),
        &delta(path.p99, base.p99),
        &delta(on_host.p99, base.p99),
    );
    let met =
        |m: &Measured| m.mib_s >= 0.8 * base.mib_s && m.p50 <= base.p50 + Duration::from_millis(1);
    println!(
        "\ntargets (throughput >= 0.8x, p50 <= baseline + 1 ms): path mode {}, host mode {}",
        if met(&path) { "met" } else { "NOT met" },
        if met(&on_host) { "met" } else { "NOT met" },
    );
    println!("server RSS after the run: {rss:.1} MiB");
    learner.delete(&format!("/api/sessions/{id}")).await;
    server.stop();
}
