//! The container's labels and image as containerd keeps them, for the archive's metadata.
//!
//! Labels (`ctr run --label`, CRI's container labels) and the image are containerd's
//! *container* metadata: they are in neither the OCI spec nor the bundle. The shim asks
//! containerd's gRPC API for them (the `-address` containerd starts the shim with):
//! `containerd.services.containers.v1.Containers/Get`, then
//! `containerd.services.images.v1.Images/Get` for the image's digest.
//!
//! The client is as small as two unary calls allow: gRPC framing by hand over the `h2`
//! HTTP/2 client (what tonic runs on) on the Unix socket, and `prost` messages written out
//! with only the fields read (docs/dependencies.md says why). The fetch runs on a thread of
//! its own with a hard timeout, off the container's start; whatever happens, the container
//! is never touched: a failure is a warning and a note in the metadata.

use std::{
    collections::BTreeMap,
    path::Path,
    sync::{Arc, Mutex, OnceLock},
    thread::JoinHandle,
    time::Duration,
};

use blackbox_archive::WorkDir;
use bytes::{BufMut, Bytes, BytesMut};
use log::{debug, warn};

/// How long the whole fetch (connect, both calls) may take.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(2);

/// The most a response message may be (a container's labels are at most a few KiB each).
const MAX_MESSAGE: usize = 4 << 20;

/// `containerd.services.containers.v1.GetContainerRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct GetContainerRequest {
    #[prost(string, tag = "1")]
    pub id: String,
}

/// `containerd.services.containers.v1.GetContainerResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct GetContainerResponse {
    #[prost(message, optional, tag = "1")]
    pub container: Option<Container>,
}

/// `containerd.services.containers.v1.Container`: the fields read (the others are skipped).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Container {
    #[prost(string, tag = "1")]
    pub id: String,
    #[prost(btree_map = "string, string", tag = "2")]
    pub labels: BTreeMap<String, String>,
    #[prost(string, tag = "3")]
    pub image: String,
}

/// `containerd.services.images.v1.GetImageRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct GetImageRequest {
    #[prost(string, tag = "1")]
    pub name: String,
}

/// `containerd.services.images.v1.GetImageResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct GetImageResponse {
    #[prost(message, optional, tag = "1")]
    pub image: Option<Image>,
}

/// `containerd.services.images.v1.Image`: the fields read.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Image {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(message, optional, tag = "3")]
    pub target: Option<Descriptor>,
}

/// `containerd.types.Descriptor`: the fields read.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Descriptor {
    #[prost(string, tag = "1")]
    pub media_type: String,
    #[prost(string, tag = "2")]
    pub digest: String,
    #[prost(int64, tag = "3")]
    pub size: i64,
}

const CONTAINERS_GET: &str = "/containerd.services.containers.v1.Containers/Get";
const IMAGES_GET: &str = "/containerd.services.images.v1.Images/Get";

/// What containerd says of a container.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContainerMeta {
    pub labels: BTreeMap<String, String>,
    /// The image reference the container was made from (empty: none recorded).
    pub image: Option<String>,
    /// The digest of the image's target (its manifest or index), `sha256:…`.
    pub image_digest: Option<String>,
    /// Why the digest is missing although an image is known.
    pub digest_error: Option<String>,
}

/// containerd's gRPC address, as containerd gave it to this shim (`-address`).
pub fn containerd_address() -> Option<&'static str> {
    static ADDRESS: OnceLock<Option<String>> = OnceLock::new();
    ADDRESS
        .get_or_init(|| {
            let args: Vec<_> = std::env::args_os().skip(1).collect();
            containerd_shim::parse(&args)
                .ok()
                .map(|f| f.address)
                .or_else(|| std::env::var("GRPC_ADDRESS").ok())
                .filter(|a| !a.is_empty())
        })
        .as_deref()
}

/// The socket path of a gRPC address (`unix:///run/…` or a plain path).
fn socket_path(address: &str) -> &str {
    address.strip_prefix("unix://").unwrap_or(address)
}

/// One length-prefixed gRPC message (uncompressed).
fn frame(msg: &impl prost::Message) -> Bytes {
    let len = msg.encoded_len();
    let mut buf = BytesMut::with_capacity(5 + len);
    buf.put_u8(0);
    buf.put_u32(u32::try_from(len).unwrap_or(u32::MAX));
    // Encoding into a buffer of the message's own length cannot run short.
    let _ = msg.encode(&mut buf);
    buf.freeze()
}

/// The message of a unary response body: one uncompressed length-prefixed message.
fn unframe<M: prost::Message + Default>(body: &[u8]) -> Result<M, String> {
    let (head, rest) = body
        .split_at_checked(5)
        .ok_or_else(|| format!("a response of {} bytes has no message", body.len()))?;
    if head[0] != 0 {
        return Err("the response is compressed".into());
    }
    let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
    let msg = rest
        .get(..len)
        .ok_or_else(|| format!("a response message of {len} bytes is cut short"))?;
    M::decode(msg).map_err(|e| format!("decode the response: {e}"))
}

/// The gRPC status in `headers` (trailers, or the headers of a trailers-only response):
/// `None` if there is none, `Some(Ok)` for OK, else the error.
fn grpc_status(headers: &http::HeaderMap) -> Option<Result<(), String>> {
    let code = headers.get("grpc-status")?;
    if code.as_bytes() == b"0" {
        return Some(Ok(()));
    }
    let message = headers
        .get("grpc-message")
        .map(|m| String::from_utf8_lossy(m.as_bytes()).into_owned())
        .unwrap_or_default();
    Some(Err(format!(
        "gRPC status {}: {message}",
        String::from_utf8_lossy(code.as_bytes())
    )))
}

/// One unary call over an HTTP/2 connection.
async fn unary<Req, Resp>(
    client: &h2::client::SendRequest<Bytes>,
    namespace: &str,
    method: &str,
    req: &Req,
) -> Result<Resp, String>
where
    Req: prost::Message,
    Resp: prost::Message + Default,
{
    let request = http::Request::builder()
        .method("POST")
        .uri(format!("http://containerd{method}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .header("containerd-namespace", namespace)
        .body(())
        .map_err(|e| format!("{method}: {e}"))?;
    let mut client = client
        .clone()
        .ready()
        .await
        .map_err(|e| format!("{method}: {e}"))?;
    let (response, mut send) = client
        .send_request(request, false)
        .map_err(|e| format!("{method}: {e}"))?;
    send.send_data(frame(req), true)
        .map_err(|e| format!("{method}: {e}"))?;
    let response = response.await.map_err(|e| format!("{method}: {e}"))?;
    if response.status() != http::StatusCode::OK {
        return Err(format!("{method}: HTTP status {}", response.status()));
    }
    if let Some(Err(e)) = grpc_status(response.headers()) {
        return Err(format!("{method}: {e}"));
    }
    let mut body = response.into_body();
    let mut data = BytesMut::new();
    while let Some(chunk) = body.data().await {
        let chunk = chunk.map_err(|e| format!("{method}: {e}"))?;
        let _ = body.flow_control().release_capacity(chunk.len());
        if data.len() + chunk.len() > MAX_MESSAGE {
            return Err(format!(
                "{method}: the response is over {MAX_MESSAGE} bytes"
            ));
        }
        data.extend_from_slice(&chunk);
    }
    let trailers = body
        .trailers()
        .await
        .map_err(|e| format!("{method}: {e}"))?;
    match trailers.as_ref().and_then(grpc_status) {
        Some(Err(e)) => return Err(format!("{method}: {e}")),
        Some(Ok(())) => {}
        None => return Err(format!("{method}: no gRPC status")),
    }
    unframe(&data).map_err(|e| format!("{method}: {e}"))
}

/// Asks containerd at `socket` for container `id` of `namespace`, then for the digest of its
/// image (or of `fallback_image`, the CRI annotation's, if the container records none).
pub async fn fetch(
    socket: &Path,
    namespace: &str,
    id: &str,
    fallback_image: Option<&str>,
) -> Result<ContainerMeta, String> {
    let io = tokio::net::UnixStream::connect(socket)
        .await
        .map_err(|e| format!("connect to {}: {e}", socket.display()))?;
    let (client, connection) = h2::client::handshake(io)
        .await
        .map_err(|e| format!("HTTP/2 handshake with {}: {e}", socket.display()))?;
    // The connection is driven by its own task; it ends when the client is dropped.
    let driver = tokio::spawn(async move {
        if let Err(e) = connection.await {
            debug!("containerd connection: {e}");
        }
    });
    let result = async {
        let resp: GetContainerResponse = unary(
            &client,
            namespace,
            CONTAINERS_GET,
            &GetContainerRequest { id: id.to_string() },
        )
        .await?;
        let container = resp
            .container
            .ok_or_else(|| format!("{CONTAINERS_GET}: no container in the answer"))?;
        let mut meta = ContainerMeta {
            labels: container.labels,
            image: Some(container.image).filter(|i| !i.is_empty()),
            ..ContainerMeta::default()
        };
        let Some(image) = meta
            .image
            .clone()
            .or_else(|| fallback_image.map(str::to_string))
        else {
            return Ok(meta);
        };
        match unary::<_, GetImageResponse>(
            &client,
            namespace,
            IMAGES_GET,
            &GetImageRequest {
                name: image.clone(),
            },
        )
        .await
        {
            Ok(resp) => {
                meta.image_digest = resp
                    .image
                    .and_then(|i| i.target)
                    .map(|t| t.digest)
                    .filter(|d| !d.is_empty());
                if meta.image_digest.is_none() {
                    meta.digest_error = Some(format!("image {image} has no target digest"));
                }
            }
            Err(e) => meta.digest_error = Some(format!("image {image}: {e}")),
        }
        Ok(meta)
    }
    .await;
    drop(client);
    driver.abort();
    result
}

/// [`fetch`] within [`FETCH_TIMEOUT`], on a runtime of the calling thread's own.
fn fetch_blocking(
    address: Option<&str>,
    namespace: &str,
    id: &str,
    fallback_image: Option<&str>,
) -> Result<ContainerMeta, String> {
    let address = address.ok_or("containerd's address is unknown (no -address)")?;
    let socket = Path::new(socket_path(address));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("async runtime: {e}"))?;
    rt.block_on(async {
        tokio::time::timeout(FETCH_TIMEOUT, fetch(socket, namespace, id, fallback_image))
            .await
            .map_err(|_| format!("containerd did not answer within {FETCH_TIMEOUT:?}"))?
    })
}

/// Writes what containerd said into the working directory's metadata: the labels, the image
/// (if none was known), the digest; or a note saying why they are missing. Does nothing once
/// the directory is sealed (`None`).
fn apply(id: &str, work: &Mutex<Option<WorkDir>>, fetched: Result<ContainerMeta, String>) {
    let note = match &fetched {
        Ok(m) => m.digest_error.clone(),
        Err(e) => Some(e.clone()),
    };
    if let Some(note) = &note {
        warn!(container = id; "containerd metadata: {note}");
    }
    let Ok(mut guard) = work.lock() else {
        warn!(container = id; "containerd metadata: working directory lock poisoned");
        return;
    };
    let Some(wd) = guard.as_mut() else {
        debug!(container = id; "containerd metadata arrived after the seal: dropped");
        return;
    };
    let updated = wd.update_metadata(|m| {
        if let Ok(meta) = fetched {
            m.labels.extend(meta.labels);
            if m.image.is_none() {
                m.image = meta.image;
            }
            if meta.image_digest.is_some() {
                m.image_digest = meta.image_digest;
            }
        }
        if let Some(note) = note {
            m.notes.push(format!(
                "labels, image and image digest from containerd are incomplete: {note}"
            ));
        }
    });
    if let Err(e) = updated {
        warn!(container = id; "containerd metadata: {e}");
    }
}

/// Fetches the container's labels and image from containerd on a thread of its own and writes
/// them into `work`'s metadata. `None` if the thread could not start (already noted).
pub fn fill_in_background(
    namespace: &str,
    id: &str,
    fallback_image: Option<String>,
    work: Arc<Mutex<Option<WorkDir>>>,
) -> Option<JoinHandle<()>> {
    let namespace = namespace.to_string();
    let id = id.to_string();
    let spawned = std::thread::Builder::new()
        .name(format!("meta-{}", id.chars().take(10).collect::<String>()))
        .spawn({
            let id = id.clone();
            let work = work.clone();
            move || {
                let asked = std::time::Instant::now();
                let fetched = fetch_blocking(
                    containerd_address(),
                    &namespace,
                    &id,
                    fallback_image.as_deref(),
                );
                debug!(container = id.as_str(); "containerd metadata in {:?}", asked.elapsed());
                apply(&id, &work, fetched);
            }
        });
    match spawned {
        Ok(h) => Some(h),
        Err(e) => {
            apply(&id, &work, Err(format!("cannot start the thread: {e}")));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    #[test]
    fn request_is_framed_field_one() {
        let framed = frame(&GetContainerRequest { id: "c1".into() });
        // Uncompressed, 4 bytes of length, then field 1 (string): tag 0x0a, length 2.
        assert_eq!(&framed[..], &[0, 0, 0, 0, 4, 0x0a, 2, b'c', b'1']);
        let framed = frame(&GetImageRequest {
            name: "docker.io/library/busybox:1".into(),
        });
        assert_eq!(framed[5], 0x0a);
        assert_eq!(usize::from(framed[6]), framed.len() - 7);
    }

    /// A length-delimited field.
    fn field(tag: u8, bytes: &[u8]) -> Vec<u8> {
        let mut v = vec![(tag << 3) | 2];
        prost::encoding::encode_varint(bytes.len() as u64, &mut v);
        v.extend_from_slice(bytes);
        v
    }

    #[test]
    fn container_response_decodes_labels_and_image() {
        // A map entry is a message: key = 1, value = 2.
        let entry = |k: &str, v: &str| [field(1, k.as_bytes()), field(2, v.as_bytes())].concat();
        let container = [
            field(1, b"c1"),
            field(2, &entry("app", "web")),
            field(2, &entry("example.com/owner", "team a")),
            field(3, b"docker.io/library/busybox:1.36"),
            // Fields not declared are skipped: a runtime (4) and a snapshotter (6).
            field(4, &field(1, b"io.containerd.blackbox.v2")),
            field(6, b"overlayfs"),
        ]
        .concat();
        let body = field(1, &container);
        let mut framed = vec![0, 0, 0, 0, u8::try_from(body.len()).unwrap_or(0)];
        framed.extend_from_slice(&body);
        let resp: GetContainerResponse = unframe(&framed).unwrap_or_default();
        let c = resp.container.unwrap_or_default();
        assert_eq!(c.id, "c1");
        assert_eq!(c.image, "docker.io/library/busybox:1.36");
        assert_eq!(
            c.labels.into_iter().collect::<Vec<_>>(),
            [
                ("app".to_string(), "web".to_string()),
                ("example.com/owner".into(), "team a".into())
            ]
        );
    }

    #[test]
    fn image_response_decodes_the_target_digest() {
        let digest = format!("sha256:{}", "ab".repeat(32));
        let target = [
            field(1, b"application/vnd.oci.image.index.v1+json"),
            field(2, digest.as_bytes()),
            vec![3 << 3, 0x80, 0x04], // size = 512 (varint)
        ]
        .concat();
        let image = [
            field(1, b"docker.io/library/busybox:1.36"),
            field(2, &[field(1, b"k"), field(2, b"v")].concat()),
            field(3, &target),
        ]
        .concat();
        let body = field(1, &image);
        assert!(body.len() > 127, "the lengths are varints of two bytes");
        let mut framed = vec![0];
        framed.extend_from_slice(&u32::try_from(body.len()).unwrap_or(0).to_be_bytes());
        framed.extend_from_slice(&body);
        let resp: GetImageResponse = unframe(&framed).unwrap_or_default();
        let t = resp.image.and_then(|i| i.target).unwrap_or_default();
        assert_eq!(t.digest, digest);
        assert_eq!(t.size, 512);
        assert_eq!(t.media_type, "application/vnd.oci.image.index.v1+json");
        // The image's labels (field 2, not declared) were skipped; what was read round-trips.
        let read = GetImageResponse::decode(&body[..]).unwrap_or_default();
        let again = GetImageResponse::decode(&read.encode_to_vec()[..]).unwrap_or_default();
        assert_eq!(again, read);
        assert_eq!(
            again.image.map(|i| i.name).as_deref(),
            Some("docker.io/library/busybox:1.36")
        );
    }

    #[test]
    fn bad_frames_are_errors() {
        assert!(unframe::<GetImageResponse>(&[0, 0, 0]).is_err());
        assert!(unframe::<GetImageResponse>(&[1, 0, 0, 0, 0]).is_err());
        assert!(unframe::<GetImageResponse>(&[0, 0, 0, 0, 9, 1]).is_err());
        assert_eq!(
            unframe::<GetImageResponse>(&[0, 0, 0, 0, 0]),
            Ok(GetImageResponse::default())
        );
    }

    #[test]
    fn status_headers() {
        let mut h = http::HeaderMap::new();
        assert_eq!(grpc_status(&h), None);
        h.insert("grpc-status", http::HeaderValue::from_static("0"));
        assert_eq!(grpc_status(&h), Some(Ok(())));
        h.insert("grpc-status", http::HeaderValue::from_static("5"));
        h.insert(
            "grpc-message",
            http::HeaderValue::from_static("container \"x\" not found"),
        );
        assert_eq!(
            grpc_status(&h),
            Some(Err("gRPC status 5: container \"x\" not found".into()))
        );
        assert_eq!(socket_path("unix:///run/c.sock"), "/run/c.sock");
        assert_eq!(socket_path("/run/c.sock"), "/run/c.sock");
    }

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    /// What the fake containerd saw of one call: path, namespace header, request body.
    type Seen = (String, String, Vec<u8>);

    /// A fake containerd on `listener` (HTTP/2, gRPC framing): answers `calls` calls, the
    /// container with labels and an image, and the image with a digest, or (`image_found`
    /// false) NotFound as a trailers-only answer, the way grpc-go sends errors.
    async fn fake_containerd(
        listener: tokio::net::UnixListener,
        calls: usize,
        image_found: bool,
    ) -> Result<Vec<Seen>, Box<dyn std::error::Error + Send + Sync>> {
        let (io, _) = listener.accept().await?;
        let mut conn = h2::server::handshake(io).await?;
        let mut seen = Vec::new();
        while seen.len() < calls {
            let Some(req) = conn.accept().await else {
                break;
            };
            let (req, mut respond) = req?;
            let path = req.uri().path().to_string();
            let ns = req
                .headers()
                .get("containerd-namespace")
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .unwrap_or_default();
            let mut body = req.into_body();
            let mut data = Vec::new();
            while let Some(chunk) = body.data().await {
                let chunk = chunk?;
                let _ = body.flow_control().release_capacity(chunk.len());
                data.extend_from_slice(&chunk);
            }
            seen.push((path.clone(), ns, data));
            let answer = match path.as_str() {
                CONTAINERS_GET => Some(frame(&GetContainerResponse {
                    container: Some(Container {
                        id: "c1".into(),
                        labels: [("app".to_string(), "web".to_string())].into(),
                        image: "docker.io/library/busybox:1.36".into(),
                    }),
                })),
                IMAGES_GET if image_found => Some(frame(&GetImageResponse {
                    image: Some(Image {
                        name: "docker.io/library/busybox:1.36".into(),
                        target: Some(Descriptor {
                            media_type: "application/vnd.oci.image.index.v1+json".into(),
                            digest: format!("sha256:{}", "cd".repeat(32)),
                            size: 512,
                        }),
                    }),
                })),
                _ => None,
            };
            let head = http::Response::builder()
                .status(200)
                .header("content-type", "application/grpc");
            match answer {
                Some(answer) => {
                    let mut send = respond.send_response(head.body(())?, false)?;
                    send.send_data(answer, false)?;
                    let mut trailers = http::HeaderMap::new();
                    trailers.insert("grpc-status", http::HeaderValue::from_static("0"));
                    send.send_trailers(trailers)?;
                }
                None => {
                    let head = head
                        .header("grpc-status", "5")
                        .header("grpc-message", "image not found")
                        .body(())?;
                    respond.send_response(head, true)?;
                }
            }
        }
        // Serve until the client goes away, so the last answer is flushed.
        while let Some(Ok(_)) = conn.accept().await {}
        Ok(seen)
    }

    fn fetch_from_fake(image_found: bool) -> Result<(ContainerMeta, Vec<Seen>), String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let sock = dir.path().join("containerd.sock");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        rt.block_on(async {
            let listener = tokio::net::UnixListener::bind(&sock).map_err(|e| e.to_string())?;
            let server = tokio::spawn(fake_containerd(listener, 2, image_found));
            let meta = tokio::time::timeout(FETCH_TIMEOUT, fetch(&sock, "k8s.io", "c1", None))
                .await
                .map_err(|_| "timed out".to_string())??;
            let seen = tokio::time::timeout(FETCH_TIMEOUT, server)
                .await
                .map_err(|_| "server timed out".to_string())?
                .map_err(|e| e.to_string())?
                .map_err(|e| e.to_string())?;
            Ok((meta, seen))
        })
    }

    #[test]
    fn fetches_labels_image_and_digest_over_http2() -> TestResult {
        let (meta, seen) = fetch_from_fake(true)?;
        assert_eq!(
            meta,
            ContainerMeta {
                labels: [("app".to_string(), "web".to_string())].into(),
                image: Some("docker.io/library/busybox:1.36".into()),
                image_digest: Some(format!("sha256:{}", "cd".repeat(32))),
                digest_error: None,
            }
        );
        let [(p1, ns1, b1), (p2, ns2, b2)] = seen.as_slice() else {
            return Err(format!("calls: {seen:?}").into());
        };
        assert_eq!((p1.as_str(), ns1.as_str()), (CONTAINERS_GET, "k8s.io"));
        assert_eq!(
            &b1[..],
            &frame(&GetContainerRequest { id: "c1".into() })[..]
        );
        assert_eq!((p2.as_str(), ns2.as_str()), (IMAGES_GET, "k8s.io"));
        let name = "docker.io/library/busybox:1.36".to_string();
        assert_eq!(&b2[..], &frame(&GetImageRequest { name })[..]);
        Ok(())
    }

    #[test]
    fn an_image_not_found_keeps_the_labels() -> TestResult {
        let (meta, _) = fetch_from_fake(false)?;
        assert_eq!(meta.labels.get("app").map(String::as_str), Some("web"));
        assert_eq!(meta.image_digest, None);
        let e = meta.digest_error.unwrap_or_default();
        assert!(e.contains("gRPC status 5: image not found"), "{e}");
        Ok(())
    }

    #[test]
    fn the_answer_goes_into_the_metadata_until_the_seal() -> TestResult {
        let dir = tempfile::tempdir()?;
        let identity = blackbox_archive::ContainerIdentity {
            id: "c1".into(),
            image: Some("from-the-annotation:1".into()),
            ..Default::default()
        };
        let work = Mutex::new(Some(WorkDir::create_unsynced(
            dir.path(),
            &identity,
            |_| {},
        )?));
        let fetched = ContainerMeta {
            labels: [("tier".to_string(), "web".to_string())].into(),
            image: Some("docker.io/library/busybox:1.36".into()),
            image_digest: Some(format!("sha256:{}", "ef".repeat(32))),
            digest_error: None,
        };
        apply("c1", &work, Ok(fetched.clone()));
        let read = |work: &Mutex<Option<WorkDir>>| {
            work.lock()
                .ok()
                .and_then(|w| w.as_ref().map(|w| w.metadata().clone()))
        };
        let m = read(&work).ok_or("no working directory")?;
        assert_eq!(m.labels, fetched.labels);
        // The annotation's image stays; the digest is containerd's.
        assert_eq!(m.image.as_deref(), Some("from-the-annotation:1"));
        assert_eq!(m.image_digest, fetched.image_digest);
        assert!(m.notes.is_empty(), "{:?}", m.notes);
        // Written to disk, not only in memory.
        let on_disk: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.path().join("c1/metadata.json"))?)?;
        assert_eq!(on_disk["labels"]["tier"], "web");

        apply(
            "c1",
            &work,
            Err("containerd did not answer within 2s".into()),
        );
        let m = read(&work).ok_or("no working directory")?;
        assert_eq!(m.notes.len(), 1);
        assert!(m.notes[0].contains("did not answer"), "{:?}", m.notes);

        // After the seal the directory is gone: a late answer changes nothing.
        let sealed = work.lock().ok().and_then(|mut w| w.take());
        drop(sealed);
        apply("c1", &work, Ok(fetched));
        assert!(read(&work).is_none());
        Ok(())
    }

    #[test]
    fn no_address_is_an_error_not_a_panic() {
        let r = fetch_blocking(None, "default", "c1", None);
        assert!(r.is_err_and(|e| e.contains("address")));
    }

    #[test]
    fn a_missing_socket_is_an_error() {
        let dir = tempfile::tempdir().ok();
        let sock = dir
            .as_ref()
            .map(|d| d.path().join("none.sock"))
            .unwrap_or_default();
        let r = fetch_blocking(sock.to_str(), "default", "c1", None);
        assert!(r.as_ref().is_err_and(|e| e.contains("connect")), "{r:?}");
    }
}
