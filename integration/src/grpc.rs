//! gRPC over containerd's unix socket, and the one task-API call `ctr` 1.6 lacks: Update.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use hyper_util::rt::TokioIo;
use tokio::net::UnixStream;
use tonic::transport::{Channel, Endpoint, Uri};

/// A tonic channel to the gRPC server listening on the unix socket at `path`.
pub async fn connect_unix(path: &Path) -> Result<Channel> {
    let path: PathBuf = path.to_path_buf();
    let channel = Endpoint::try_from("http://[::]:50051")?
        .connect_with_connector(tower::service_fn(move |_: Uri| {
            let path = path.clone();
            async move { Ok::<_, std::io::Error>(TokioIo::new(UnixStream::connect(path).await?)) }
        }))
        .await
        .context("connecting to containerd's gRPC socket")?;
    Ok(channel)
}

/// `google.protobuf.Any`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Any {
    #[prost(string, tag = "1")]
    pub type_url: String,
    #[prost(bytes = "vec", tag = "2")]
    pub value: Vec<u8>,
}

/// `containerd.services.tasks.v1.UpdateTaskRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct UpdateTaskRequest {
    #[prost(string, tag = "1")]
    pub container_id: String,
    #[prost(message, optional, tag = "2")]
    pub resources: Option<Any>,
    #[prost(map = "string, string", tag = "3")]
    pub annotations: std::collections::HashMap<String, String>,
}

/// `google.protobuf.Empty`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Empty {}

/// containerd's typeurl for the runtime spec's LinuxResources (JSON-encoded in the Any).
pub const LINUX_RESOURCES_URL: &str =
    "types.containerd.io/opencontainers/runtime-spec/1/LinuxResources";

/// `containerd.services.tasks.v1.DeleteTaskRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct DeleteTaskRequest {
    #[prost(string, tag = "1")]
    pub container_id: String,
}

/// `containerd.services.tasks.v1.DeleteResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct DeleteResponse {
    #[prost(string, tag = "1")]
    pub id: String,
    #[prost(uint32, tag = "2")]
    pub pid: u32,
    #[prost(uint32, tag = "3")]
    pub exit_status: u32,
}

/// One unary call of containerd's API in `namespace`.
fn unary<Req, Resp>(address: &Path, namespace: &str, method: &'static str, msg: Req) -> Result<Resp>
where
    Req: prost::Message + Send + Sync + 'static,
    Resp: prost::Message + Default + Send + Sync + 'static,
{
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let channel = connect_unix(address).await?;
        let mut grpc = tonic::client::Grpc::new(channel);
        grpc.ready().await.context("containerd API not ready")?;
        let mut req = tonic::Request::new(msg);
        req.set_timeout(std::time::Duration::from_secs(60));
        req.metadata_mut()
            .insert("containerd-namespace", namespace.parse()?);
        let path = tonic::codegen::http::uri::PathAndQuery::from_static(method);
        let resp = grpc
            .unary::<_, Resp, _>(req, path, tonic_prost::ProstCodec::default())
            .await
            .with_context(|| method.to_string())?;
        Ok(resp.into_inner())
    })
}

/// Calls `Tasks.Delete` for a stopped task and returns the exit status the shim reported.
pub fn delete_task(address: &Path, namespace: &str, container_id: &str) -> Result<u32> {
    let resp: DeleteResponse = unary(
        address,
        namespace,
        "/containerd.services.tasks.v1.Tasks/Delete",
        DeleteTaskRequest {
            container_id: container_id.to_string(),
        },
    )?;
    Ok(resp.exit_status)
}

/// `containerd.services.tasks.v1.CloseIORequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct CloseIoRequest {
    #[prost(string, tag = "1")]
    pub container_id: String,
    #[prost(string, tag = "2")]
    pub exec_id: String,
    #[prost(bool, tag = "3")]
    pub stdin: bool,
}

/// Calls `Tasks.CloseIO` to close the task's stdin (what `ctr run` 1.6 never does at EOF).
pub fn close_stdin(address: &Path, namespace: &str, container_id: &str) -> Result<()> {
    let _: Empty = unary(
        address,
        namespace,
        "/containerd.services.tasks.v1.Tasks/CloseIO",
        CloseIoRequest {
            container_id: container_id.to_string(),
            exec_id: String::new(),
            stdin: true,
        },
    )?;
    Ok(())
}

/// Calls `Tasks.Update` with OCI `LinuxResources` (JSON) for `container_id` in `namespace`,
/// as `ctr task update` does in later containerd releases.
pub fn update_task_resources(
    address: &Path,
    namespace: &str,
    container_id: &str,
    resources: &serde_json::Value,
) -> Result<()> {
    let _: Empty = unary(
        address,
        namespace,
        "/containerd.services.tasks.v1.Tasks/Update",
        UpdateTaskRequest {
            container_id: container_id.to_string(),
            resources: Some(Any {
                type_url: LINUX_RESOURCES_URL.to_string(),
                value: serde_json::to_vec(resources)?,
            }),
            annotations: std::collections::HashMap::new(),
        },
    )?;
    Ok(())
}
